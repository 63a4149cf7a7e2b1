package models

import (
	"net/url"
	"strings"
)

// Validation follows the reference message for message: every rule that
// fails adds one text to an ordered list, and the request is answered with
// one InvalidRequest error whose message is that list joined with ", ".
// Clients and tests compare those texts, so the wording, the order and the
// duplicates (an empty rootfs is reported twice) are part of the wire.
//
// Where the reference would panic on a nil element (a nil entry in a list,
// a nil map value, an Action with no variant nested inside another action),
// we treat the element as an empty message and report what is missing.

// Size limits of the reference.
const (
	annotationLimit         = 10 * 1024   // bytes of DesiredLRP/Task annotation
	routesLimit             = 128 * 1024  // bytes of all raw route documents together
	volumeMountedFilesLimit = 1024 * 1024 // bytes of all volume-mounted file contents together
)

// Standalone validation texts.
const (
	msgInvalidActionType = "invalid action type"
	msgBlankEnvName      = "invalid field: name cannot be blank"
)

// problemList collects validation messages in order.
type problemList []string

// invalid records the reference's "Invalid field: <field>" message.
func (p *problemList) invalid(field string) {
	*p = append(*p, "Invalid field: "+field)
}

// add records a message verbatim.
func (p *problemList) add(msg string) {
	*p = append(*p, msg)
}

// section runs check into a fresh list; when it found anything, records
// "Invalid field: <field>" followed by everything it found.
func (p *problemList) section(field string, check func(*problemList)) {
	var sub problemList
	check(&sub)
	if len(sub) > 0 {
		p.invalid(field)
		*p = append(*p, sub...)
	}
}

// toError returns nil for an empty list, else the InvalidRequest error the
// BBS answers with.
func (p problemList) toError() error {
	if len(p) == 0 {
		return nil
	}
	return NewError(Error_InvalidRequest, strings.Join(p, ", "))
}

// validGUID reports whether s matches ^[a-zA-Z0-9_-]+$, the pattern of
// process and task guids.
func validGUID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// rootFSHasScheme reports whether rootfs parses as a URL with a scheme
// ("preloaded:cflinuxfs4", "docker:///cloudfoundry/x").
func rootFSHasScheme(rootfs string) bool {
	u, err := url.Parse(rootfs)
	return err == nil && u.Scheme != ""
}

// routesTooLong reports whether the raw route documents together exceed the
// limit.
func routesTooLong(r *ProtoRoutes) bool {
	total := 0
	for _, v := range r.GetRoutes() {
		total += len(v)
		if total > routesLimit {
			return true
		}
	}
	return false
}

// volumeMountedFilesTooLarge reports whether the contents together exceed
// the limit.
func volumeMountedFilesTooLarge(files []*File) bool {
	total := 0
	for _, f := range files {
		total += len(f.GetContent())
		if total > volumeMountedFilesLimit {
			return true
		}
	}
	return false
}

// Validate requires a name.
func (x *EnvironmentVariable) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *EnvironmentVariable) appendProblems(p *problemList) {
	if x.GetName() == "" {
		p.add(msgBlankEnvName)
	}
}

// Validate requires a bytes_per_second of at least -1 (unlimited). The
// message is the one of the run info and task definition checks.
func (x *LogRateLimit) Validate() error {
	var p problemList
	if x.GetBytesPerSecond() < -1 {
		p.invalid("log_rate_limit")
	}
	return p.toError()
}

// validDynamic reports whether v is one of the dynamic values an instance
// can resolve.
func validDynamic(v MetricTagValue_DynamicValue) bool {
	return v == MetricTagValue_INDEX || v == MetricTagValue_INSTANCE_GUID
}

// Validate requires exactly one of static and a valid dynamic value.
func (x *MetricTagValue) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *MetricTagValue) appendProblems(p *problemList) {
	hasStatic, hasDynamic := x.GetStatic() != "", validDynamic(x.GetDynamic())
	if hasStatic == hasDynamic {
		p.invalid("static")
		p.invalid("dynamic")
	}
}

// appendMetricTagProblems checks every tag and, when metricsGuid is set on a
// non-empty map, that the source_id tag carries it. Every invalid tag adds
// the same two messages, so the map's order does not show.
func appendMetricTagProblems(p *problemList, tags map[string]*MetricTagValue, metricsGuid string) {
	for _, v := range tags {
		v.appendProblems(p)
	}
	if len(tags) > 0 && metricsGuid != "" {
		if src, ok := tags["source_id"]; !ok || src.GetStatic() != metricsGuid {
			p.invalid("source_id should match metrics_guid")
		}
	}
}

// Validate requires a driver, a mode of "r" or "rw", and the id of the
// device it names.
func (x *VolumeMount) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *VolumeMount) appendProblems(p *problemList) {
	if x.GetDriver() == "" {
		p.add("invalid volume_mount driver")
	}
	if m := x.GetMode(); m != "r" && m != "rw" {
		p.add("invalid volume_mount mode")
	}
	if x.GetShared() != nil && x.GetShared().GetVolumeId() == "" {
		p.add("invalid volume_mount volume id")
	}
	if x.GetDedicated() != nil && x.GetDedicated().GetMounterId() == "" {
		p.add("invalid volume_mount mounter id")
	}
}

// appendChecksumProblems checks a checksum pair as download actions and
// cached dependencies do: both or neither, and a known algorithm.
func appendChecksumProblems(p *problemList, algorithm, value string) {
	switch {
	case value != "" && algorithm == "":
		p.invalid("checksum algorithm")
	case value == "" && algorithm != "":
		p.invalid("checksum value")
	case value != "" && algorithm != "":
		switch strings.ToLower(algorithm) {
		case "md5", "sha1", "sha256":
		default:
			p.invalid("invalid algorithm")
		}
	}
}

// Validate requires from and to, and a consistent checksum.
func (x *CachedDependency) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *CachedDependency) appendProblems(p *problemList) {
	if x.GetFrom() == "" {
		p.invalid("from")
	}
	if x.GetTo() == "" {
		p.invalid("to")
	}
	appendChecksumProblems(p, x.GetChecksumAlgorithm(), x.GetChecksumValue())
}

func appendCachedDependencyProblems(p *problemList, deps []*CachedDependency) {
	for _, d := range deps {
		p.section("cached_dependency", d.appendProblems)
	}
}

func validLayerType(t ImageLayer_Type) bool {
	return t == ImageLayer_SHARED || t == ImageLayer_EXCLUSIVE
}

func validMediaType(t ImageLayer_MediaType) bool {
	return t == ImageLayer_TGZ || t == ImageLayer_TAR || t == ImageLayer_ZIP
}

func validDigestAlgorithm(a ImageLayer_DigestAlgorithm) bool {
	return a == ImageLayer_SHA256 || a == ImageLayer_SHA512
}

// Validate requires url, destination path, known layer and media types, and
// a digest pair when a digest is given or the layer is exclusive.
func (x *ImageLayer) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *ImageLayer) appendProblems(p *problemList) {
	exclusive := x.GetLayerType() == ImageLayer_EXCLUSIVE
	alg, digest := x.GetDigestAlgorithm(), x.GetDigestValue()
	if x.GetUrl() == "" {
		p.invalid("url")
	}
	if x.GetDestinationPath() == "" {
		p.invalid("destination_path")
	}
	if !validLayerType(x.GetLayerType()) {
		p.invalid("layer_type")
	}
	if !validMediaType(x.GetMediaType()) {
		p.invalid("media_type")
	}
	if (digest != "" || exclusive) && alg == ImageLayer_DigestAlgorithmInvalid {
		p.invalid("digest_algorithm")
	}
	if (alg != ImageLayer_DigestAlgorithmInvalid || exclusive) && digest == "" {
		p.invalid("digest_value")
	}
	if digest != "" && !validDigestAlgorithm(alg) {
		p.invalid("digest_algorithm")
	}
}

// appendImageLayerProblems checks every layer, then that exclusive layers
// have a user to download them as.
func appendImageLayerProblems(p *problemList, layers []*ImageLayer, legacyDownloadUser string) {
	needsUser := false
	for _, l := range layers {
		p.section("image_layer", l.appendProblems)
		if l.GetLayerType() == ImageLayer_EXCLUSIVE {
			needsUser = true
		}
	}
	if needsUser && legacyDownloadUser == "" {
		p.invalid("legacy_download_user")
	}
}

// appendImageCredentialProblems requires username and password together.
func appendImageCredentialProblems(p *problemList, username, password string) {
	if username == "" && password != "" {
		p.invalid("image_username")
	}
	if username != "" && password == "" {
		p.invalid("image_password")
	}
}
