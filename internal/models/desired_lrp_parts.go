package models

// A DesiredLRP is stored in two parts, as the reference stores it:
//
//   - the scheduling info: key, annotation, instances, resources, routes,
//     modification tag, volume placement and placement tags, what the
//     auctioneer, the converger and the route-emitter need (plain columns
//     except routes and volume placement);
//   - the run info: everything else the rep needs to run it, one encrypted
//     protobuf column.
//
// Two DesiredLRP fields live in neither: metric_tags and update_strategy
// have columns of their own (metric tags moved out of the run info in
// 2024; run info field 25 is only read by the migration that moved them).
//
// The round trip DesiredLRP -> parts -> DesiredLRP keeps every field but
// deprecated_start_timeout_s, which the reference does not store either
// (the V0 down-conversion recomputes it from start_timeout_ms). Reading
// also sets what a stored LRP always has: a modification tag and routes
// (empty when none were given).

// SchedulingInfo returns the scheduling part of d. Sub-messages are shared
// with d except the key, resource, modification tag and volume placement,
// which are new. The non-nullable fields are always set.
func (d *DesiredLRP) SchedulingInfo() *DesiredLRPSchedulingInfo {
	tag := &ModificationTag{}
	if d.GetModificationTag() != nil {
		tag.Epoch, tag.Index = d.ModificationTag.Epoch, d.ModificationTag.Index
	}
	routes := d.GetRoutes()
	if routes == nil {
		routes = &ProtoRoutes{}
	}
	return &DesiredLRPSchedulingInfo{
		DesiredLrpKey:      d.Key(),
		Annotation:         d.GetAnnotation(),
		Instances:          d.GetInstances(),
		DesiredLrpResource: d.Resource(),
		Routes:             routes,
		ModificationTag:    tag,
		VolumePlacement:    d.VolumePlacement(),
		PlacementTags:      d.GetPlacementTags(),
	}
}

// Key returns a new DesiredLRPKey of d.
func (d *DesiredLRP) Key() *DesiredLRPKey {
	return &DesiredLRPKey{ProcessGuid: d.GetProcessGuid(), Domain: d.GetDomain(), LogGuid: d.GetLogGuid()}
}

// Resource returns a new DesiredLRPResource of d.
func (d *DesiredLRP) Resource() *DesiredLRPResource {
	return &DesiredLRPResource{MemoryMb: d.GetMemoryMb(), DiskMb: d.GetDiskMb(), RootFs: d.GetRootFs(), MaxPids: d.GetMaxPids()}
}

// VolumePlacement lists the driver of every volume mount, in order (a
// non-nil, possibly empty list, as the reference stores it).
func (d *DesiredLRP) VolumePlacement() *VolumePlacement {
	names := make([]string, 0, len(d.GetVolumeMounts()))
	for _, m := range d.GetVolumeMounts() {
		names = append(names, m.GetDriver())
	}
	return &VolumePlacement{DriverNames: names}
}

// RunInfo returns the run part of d, created at createdAt (Unix ns).
// Sub-messages and lists are shared with d.
func (d *DesiredLRP) RunInfo(createdAt int64) *DesiredLRPRunInfo {
	return &DesiredLRPRunInfo{
		DesiredLrpKey:                 d.Key(),
		EnvironmentVariables:          d.GetEnvironmentVariables(),
		Setup:                         d.GetSetup(),
		Action:                        d.GetAction(),
		Monitor:                       d.GetMonitor(),
		Privileged:                    d.GetPrivileged(),
		CpuWeight:                     d.GetCpuWeight(),
		Ports:                         d.GetPorts(),
		EgressRules:                   d.GetEgressRules(),
		LogSource:                     d.GetLogSource(),
		MetricsGuid:                   d.GetMetricsGuid(),
		CreatedAt:                     createdAt,
		CachedDependencies:            d.GetCachedDependencies(),
		LegacyDownloadUser:            d.GetLegacyDownloadUser(),
		TrustedSystemCertificatesPath: d.GetTrustedSystemCertificatesPath(),
		VolumeMounts:                  d.GetVolumeMounts(),
		Network:                       d.GetNetwork(),
		StartTimeoutMs:                d.GetStartTimeoutMs(),
		CertificateProperties:         d.GetCertificateProperties(),
		ImageUsername:                 d.GetImageUsername(),
		ImagePassword:                 d.GetImagePassword(),
		CheckDefinition:               d.GetCheckDefinition(),
		ImageLayers:                   d.GetImageLayers(),
		Sidecars:                      d.GetSidecars(),
		LogRateLimit:                  d.GetLogRateLimit(),
		VolumeMountedFiles:            d.GetVolumeMountedFiles(),
	}
}

// NewDesiredLRP joins the stored parts of a desired LRP. s must not be
// nil; r may be (a routing or scheduling view). Sub-messages and lists are
// shared with the parts. Routes and the modification tag are always set.
func NewDesiredLRP(s *DesiredLRPSchedulingInfo, r *DesiredLRPRunInfo, metricTags map[string]*MetricTagValue, strategy DesiredLRP_UpdateStrategy) *DesiredLRP {
	key, res := s.GetDesiredLrpKey(), s.GetDesiredLrpResource()
	routes := s.GetRoutes()
	if routes == nil {
		routes = &ProtoRoutes{}
	}
	tag := s.GetModificationTag()
	if tag == nil {
		tag = &ModificationTag{}
	}
	return &DesiredLRP{
		ProcessGuid:                   key.GetProcessGuid(),
		Domain:                        key.GetDomain(),
		LogGuid:                       key.GetLogGuid(),
		RootFs:                        res.GetRootFs(),
		MemoryMb:                      res.GetMemoryMb(),
		DiskMb:                        res.GetDiskMb(),
		MaxPids:                       res.GetMaxPids(),
		Instances:                     s.GetInstances(),
		Annotation:                    s.GetAnnotation(),
		Routes:                        routes,
		ModificationTag:               tag,
		PlacementTags:                 s.GetPlacementTags(),
		EnvironmentVariables:          r.GetEnvironmentVariables(),
		Setup:                         r.GetSetup(),
		Action:                        r.GetAction(),
		Monitor:                       r.GetMonitor(),
		StartTimeoutMs:                r.GetStartTimeoutMs(),
		Privileged:                    r.GetPrivileged(),
		CpuWeight:                     r.GetCpuWeight(),
		Ports:                         r.GetPorts(),
		EgressRules:                   r.GetEgressRules(),
		LogSource:                     r.GetLogSource(),
		MetricsGuid:                   r.GetMetricsGuid(),
		CachedDependencies:            r.GetCachedDependencies(),
		LegacyDownloadUser:            r.GetLegacyDownloadUser(),
		TrustedSystemCertificatesPath: r.GetTrustedSystemCertificatesPath(),
		VolumeMounts:                  r.GetVolumeMounts(),
		Network:                       r.GetNetwork(),
		CertificateProperties:         r.GetCertificateProperties(),
		ImageUsername:                 r.GetImageUsername(),
		ImagePassword:                 r.GetImagePassword(),
		CheckDefinition:               r.GetCheckDefinition(),
		ImageLayers:                   r.GetImageLayers(),
		Sidecars:                      r.GetSidecars(),
		LogRateLimit:                  r.GetLogRateLimit(),
		VolumeMountedFiles:            r.GetVolumeMountedFiles(),
		MetricTags:                    metricTags,
		UpdateStrategy:                strategy,
	}
}

// RoutingInfo returns the view of d the route-emitter asks for: key,
// instances, routes, modification tag and metric tags.
func (d *DesiredLRP) RoutingInfo() *DesiredLRP {
	s := d.SchedulingInfo()
	return &DesiredLRP{
		ProcessGuid:     d.GetProcessGuid(),
		Domain:          d.GetDomain(),
		LogGuid:         d.GetLogGuid(),
		Instances:       d.GetInstances(),
		Routes:          s.Routes,
		ModificationTag: s.ModificationTag,
		MetricTags:      d.GetMetricTags(),
	}
}

// ApplyUpdate changes s as the update says and bumps its modification
// index: instances and annotation when set, routes when present. Metric
// tags and image credentials are not part of the scheduling info; see
// ApplyUpdate on the run info and DesiredLRPUpdate.ReplacesMetricTags.
func (s *DesiredLRPSchedulingInfo) ApplyUpdate(u *DesiredLRPUpdate) {
	if u == nil {
		u = &DesiredLRPUpdate{}
	}
	if u.Instances != nil {
		s.Instances = *u.Instances
	}
	if u.Routes != nil {
		s.Routes = u.Routes
	}
	if u.Annotation != nil {
		s.Annotation = *u.Annotation
	}
	if s.ModificationTag == nil {
		s.ModificationTag = &ModificationTag{}
	}
	s.ModificationTag.Index++
}

// ApplyUpdate patches the image credentials the update sets and reports
// whether it changed anything to store.
func (r *DesiredLRPRunInfo) ApplyUpdate(u *DesiredLRPUpdate) bool {
	if u == nil || (u.ImageUsername == nil && u.ImagePassword == nil) {
		return false
	}
	if u.ImageUsername != nil {
		r.ImageUsername = *u.ImageUsername
	}
	if u.ImagePassword != nil {
		r.ImagePassword = *u.ImagePassword
	}
	return true
}

// ReplacesMetricTags reports whether the update replaces the desired
// LRP's metric tags: only a non-empty map does (an empty map cannot be
// told from an absent one on the wire).
func (u *DesiredLRPUpdate) ReplacesMetricTags() bool {
	return len(u.GetMetricTags()) > 0
}

// DedupPorts returns ports without repeats, first occurrences in order.
// Stored run infos may repeat a port; the reference removes repeats on
// read.
func DedupPorts(ports []uint32) []uint32 {
	if len(ports) > 16 {
		return dedupFrom(ports)
	}
	for i := 1; i < len(ports); i++ {
		for j := 0; j < i; j++ {
			if ports[i] == ports[j] {
				return dedupFrom(ports)
			}
		}
	}
	return ports
}

func dedupFrom(ports []uint32) []uint32 {
	seen := make(map[uint32]bool, len(ports))
	out := make([]uint32, 0, len(ports))
	for _, p := range ports {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
