package models

// Validation of desired LRPs, their updates and task definitions.

// Validate checks a DesiredLRP as DesireLRP does. The reference checks the
// LRP's own fields first and then those of the run info it derives from it,
// so some problems are reported twice under different names (an empty
// rootfs gives "rootfs" twice; a too-large log rate limit gives
// "log_rate_limit_bytes_per_second" and later "log_rate_limit"), and the
// guid and action rules come after the metric tags.
func (x *DesiredLRP) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *DesiredLRP) appendProblems(p *problemList) {
	if volumeMountedFilesTooLarge(x.GetVolumeMountedFiles()) {
		p.invalid("volumeMountedFiles")
	}
	if x.GetDomain() == "" {
		p.invalid("domain")
	}
	if x.GetRootFs() == "" {
		p.invalid("rootfs")
	}
	if !rootFSHasScheme(x.GetRootFs()) {
		p.invalid("rootfs")
	}
	if x.GetInstances() < 0 {
		p.invalid("instances")
	}
	if x.GetMemoryMb() < 0 {
		p.invalid("memory_mb")
	}
	if x.GetDiskMb() < 0 {
		p.invalid("disk_mb")
	}
	if x.GetLogRateLimit().GetBytesPerSecond() < -1 {
		p.invalid("log_rate_limit_bytes_per_second")
	}
	if len(x.GetAnnotation()) > annotationLimit {
		p.invalid("annotation")
	}
	if x.GetMaxPids() < 0 {
		p.invalid("max_pids")
	}
	if routesTooLong(x.GetRoutes()) {
		p.invalid("routes")
	}
	// A nil map is how an empty one arrives from the wire, and the
	// reference requires at least one tag.
	if len(x.GetMetricTags()) == 0 {
		p.invalid("metric_tags")
	} else {
		p.section("metric_tags", func(sub *problemList) {
			appendMetricTagProblems(sub, x.GetMetricTags(), x.GetMetricsGuid())
		})
	}
	x.appendRunInfoProblems(p)
}

// appendRunInfoProblems checks what the reference checks on the run info.
func (x *DesiredLRP) appendRunInfoProblems(p *problemList) {
	if x.GetDomain() == "" {
		p.invalid("domain")
	}
	if !validGUID(x.GetProcessGuid()) {
		p.invalid("process_guid")
	}
	if volumeMountedFilesTooLarge(x.GetVolumeMountedFiles()) {
		p.invalid("volumeMountedFiles")
	}
	if x.GetSetup() != nil {
		p.section("setup", x.GetSetup().appendProblems)
	}
	appendRequiredActionProblems(p, x.GetAction())
	if x.GetMonitor() != nil {
		p.section("monitor", x.GetMonitor().appendProblems)
	}
	for _, env := range x.GetEnvironmentVariables() {
		env.appendProblems(p)
	}
	for _, rule := range x.GetEgressRules() {
		p.section("egress_rules", rule.appendProblems)
	}
	appendCachedDependencyProblems(p, x.GetCachedDependencies())
	appendImageLayerProblems(p, x.GetImageLayers(), x.GetLegacyDownloadUser())
	appendSidecarProblems(p, x.GetSidecars())
	for _, m := range x.GetVolumeMounts() {
		m.appendProblems(p)
	}
	appendImageCredentialProblems(p, x.GetImageUsername(), x.GetImagePassword())
	if x.GetCheckDefinition() != nil {
		p.section("check_definition", x.GetCheckDefinition().appendProblems)
	}
	if x.GetLogRateLimit().GetBytesPerSecond() < -1 {
		p.invalid("log_rate_limit")
	}
}

// Validate checks the fields an update carries: instances, annotation and
// routes limits, metric tags, and image credentials that come as a pair.
func (x *DesiredLRPUpdate) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *DesiredLRPUpdate) appendProblems(p *problemList) {
	if x.GetInstances() < 0 {
		p.invalid("instances")
	}
	if len(x.GetAnnotation()) > annotationLimit {
		p.invalid("annotation")
	}
	if routesTooLong(x.GetRoutes()) {
		p.invalid("routes")
	}
	p.section("metric_tags", func(sub *problemList) {
		appendMetricTagProblems(sub, x.GetMetricTags(), "")
	})
	hasUser, hasPassword := x != nil && x.ImageUsername != nil, x != nil && x.ImagePassword != nil
	if hasUser && !hasPassword {
		p.invalid("image_password")
	}
	if !hasUser && hasPassword {
		p.invalid("image_username")
	}
}

// Validate checks a task definition as DesireTask does. Unlike a desired
// LRP, an invalid egress rule is reported without its details and an empty
// rootfs only once.
func (x *TaskDefinition) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *TaskDefinition) appendProblems(p *problemList) {
	if !rootFSHasScheme(x.GetRootFs()) {
		p.invalid("rootfs")
	}
	appendRequiredActionProblems(p, x.GetAction())
	if x.GetMemoryMb() < 0 {
		p.invalid("memory_mb")
	}
	if x.GetDiskMb() < 0 {
		p.invalid("disk_mb")
	}
	if x.GetLogRateLimit().GetBytesPerSecond() < -1 {
		p.invalid("log_rate_limit")
	}
	if x.GetMaxPids() < 0 {
		p.invalid("max_pids")
	}
	if len(x.GetAnnotation()) > annotationLimit {
		p.invalid("annotation")
	}
	for _, rule := range x.GetEgressRules() {
		var sub problemList
		rule.appendProblems(&sub)
		if len(sub) > 0 {
			p.invalid("egress_rules")
		}
	}
	appendImageCredentialProblems(p, x.GetImageUsername(), x.GetImagePassword())
	appendCachedDependencyProblems(p, x.GetCachedDependencies())
	appendImageLayerProblems(p, x.GetImageLayers(), x.GetLegacyDownloadUser())
}
