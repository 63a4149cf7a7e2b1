package models

import "testing"

func TestActionValidation(t *testing.T) {
	dl := func(alg, val string) *Action {
		return &Action{DownloadAction: &DownloadAction{From: "f", To: "t", User: "u", ChecksumAlgorithm: alg, ChecksumValue: val}}
	}
	cases := []struct {
		name string
		a    *Action
		want string
	}{
		{"nil", nil, ""},
		{"no variant", &Action{}, "Invalid field: inner-action"},
		{"download", dl("", ""), ""},
		{"download empty", &Action{DownloadAction: &DownloadAction{}},
			"Invalid field: from, Invalid field: to, Invalid field: user"},
		{"download md5", dl("md5", "x"), ""},
		{"download SHA1 any case", dl("SHA1", "x"), ""},
		{"download sha256", dl("sha256", "x"), ""},
		{"download sha512 rejected", dl("sha512", "x"), "Invalid field: invalid algorithm"},
		{"download value without algorithm", dl("", "x"), "Invalid field: checksum algorithm"},
		{"download algorithm without value", dl("md5", ""), "Invalid field: checksum value"},
		{"upload", &Action{UploadAction: &UploadAction{From: "f", To: "t", User: "u"}}, ""},
		{"upload empty, to first", &Action{UploadAction: &UploadAction{}},
			"Invalid field: to, Invalid field: from, Invalid field: user"},
		{"run", runAction(), ""},
		{"run empty", &Action{RunAction: &RunAction{}}, "Invalid field: path, Invalid field: user"},
		{"timeout", &Action{TimeoutAction: &TimeoutAction{Action: runAction(), TimeoutMs: 1}}, ""},
		{"timeout empty", &Action{TimeoutAction: &TimeoutAction{}}, "Invalid field: action, Invalid field: timeout_ms"},
		{"timeout negative", &Action{TimeoutAction: &TimeoutAction{Action: runAction(), TimeoutMs: -1}}, "Invalid field: timeout_ms"},
		{"timeout of an invalid action", &Action{TimeoutAction: &TimeoutAction{Action: &Action{RunAction: &RunAction{Path: "p"}}, TimeoutMs: 1}},
			"Invalid field: user"},
		{"timeout of an action without variant", &Action{TimeoutAction: &TimeoutAction{Action: &Action{}, TimeoutMs: 1}},
			"Invalid field: inner-action"},
		{"emit progress", &Action{EmitProgressAction: &EmitProgressAction{Action: runAction()}}, ""},
		{"emit progress empty", &Action{EmitProgressAction: &EmitProgressAction{}}, "Invalid field: action"},
		{"try", &Action{TryAction: &TryAction{Action: runAction()}}, ""},
		{"try empty", &Action{TryAction: &TryAction{}}, "Invalid field: action"},
		{"parallel", &Action{ParallelAction: &ParallelAction{Actions: []*Action{runAction()}}}, ""},
		{"parallel empty", &Action{ParallelAction: &ParallelAction{}}, "Invalid field: actions"},
		{"serial with nil entries", &Action{SerialAction: &SerialAction{Actions: []*Action{nil, runAction(), nil}}},
			"Invalid field: action at index 0, Invalid field: action at index 2"},
		{"codependent with invalid entries", &Action{CodependentAction: &CodependentAction{
			Actions: []*Action{{RunAction: &RunAction{}}, {}, {TryAction: &TryAction{}}}}},
			"Invalid field: path, Invalid field: user, Invalid field: inner-action, Invalid field: action"},
		{"first variant counts", &Action{RunAction: &RunAction{}, DownloadAction: &DownloadAction{From: "f", To: "t", User: "u"}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkValidation(t, c.a.Validate(), c.want)
		})
	}
	// The variants validate alone too.
	checkValidation(t, (&ParallelAction{}).Validate(), "Invalid field: actions")
	checkValidation(t, (&SerialAction{}).Validate(), "Invalid field: actions")
	checkValidation(t, (&CodependentAction{}).Validate(), "Invalid field: actions")
	checkValidation(t, (&TryAction{}).Validate(), "Invalid field: action")
	checkValidation(t, (&EmitProgressAction{}).Validate(), "Invalid field: action")
	checkValidation(t, (&TimeoutAction{}).Validate(), "Invalid field: action, Invalid field: timeout_ms")
	checkValidation(t, (*RunAction)(nil).Validate(), "Invalid field: path, Invalid field: user")
}

func TestSecurityGroupRuleValidation(t *testing.T) {
	dest := []string{"1.2.3.4"}
	cases := []struct {
		name string
		r    *SecurityGroupRule
		want string
	}{
		{"tcp ports", &SecurityGroupRule{Protocol: "tcp", Destinations: dest, Ports: []uint32{80, 443}}, ""},
		{"udp range", &SecurityGroupRule{Protocol: "udp", Destinations: dest, PortRange: &PortRange{Start: 1, End: 65535}}, ""},
		{"tcp nothing", &SecurityGroupRule{Protocol: "tcp", Destinations: dest},
			"Missing required field: ports or port_range"},
		{"tcp both", &SecurityGroupRule{Protocol: "tcp", Destinations: dest, Ports: []uint32{1}, PortRange: &PortRange{Start: 1, End: 1}},
			"Invalid: ports and port_range provided"},
		{"tcp bad range", &SecurityGroupRule{Protocol: "tcp", Destinations: dest, PortRange: &PortRange{Start: 0, End: 0}},
			"Invalid field: port_range, Invalid field: port_range"},
		{"tcp reversed range", &SecurityGroupRule{Protocol: "tcp", Destinations: dest, PortRange: &PortRange{Start: 9, End: 8}},
			"Invalid field: port_range"},
		{"tcp port zero", &SecurityGroupRule{Protocol: "tcp", Destinations: dest, Ports: []uint32{0, 1, 0}},
			"Invalid field: ports, Invalid field: ports"},
		{"tcp empty port list", &SecurityGroupRule{Protocol: "tcp", Destinations: dest, Ports: []uint32{}},
			"Invalid field: ports"},
		{"tcp with icmp info", &SecurityGroupRule{Protocol: "tcp", Destinations: dest, Ports: []uint32{1}, IcmpInfo: &ICMPInfo{}},
			"Invalid field: icmp_info"},
		{"icmp", &SecurityGroupRule{Protocol: "icmp", Destinations: dest, IcmpInfo: &ICMPInfo{}}, ""},
		{"icmp everything wrong", &SecurityGroupRule{Protocol: "icmp", Destinations: dest, Ports: []uint32{1}, PortRange: &PortRange{}},
			"Invalid field: port_range, Invalid field: ports, Invalid field: icmp_info"},
		{"icmpv6 without info", &SecurityGroupRule{Protocol: "icmpv6", Destinations: dest}, "Invalid field: icmpv6_info"},
		{"all", &SecurityGroupRule{Protocol: "all", Destinations: dest}, ""},
		{"all with icmp info", &SecurityGroupRule{Protocol: "all", Destinations: dest, IcmpInfo: &ICMPInfo{}}, "Invalid field: icmp_info"},
		{"unknown protocol", &SecurityGroupRule{Protocol: "TCP", Destinations: dest}, "Invalid field: protocol"},
		{"no destinations", &SecurityGroupRule{Protocol: "all"},
			"Invalid field: destinations [ Must have at least 1 destination ]"},
		{"cidr, range, list", &SecurityGroupRule{Protocol: "all",
			Destinations: []string{"10.0.0.0/8", "10.0.0.1-10.0.0.9", "1.1.1.1,2.2.2.2", "::1-::2", "10.0.0.255-10.0.1.0"}}, ""},
		{"bad destinations", &SecurityGroupRule{Protocol: "all",
			Destinations: []string{"x", "1.2.3.4/33", "1.1.1.1,", "10.0.0.9-10.0.0.1", "1.1.1.1-y"}},
			"Invalid field: destinations [ Invalid IP, invalid CIDR address: 1.2.3.4/33, Invalid IP, Invalid IP, Invalid IP ]"},
		{"range descending in two bytes", &SecurityGroupRule{Protocol: "all", Destinations: []string{"10.0.0.255-9.0.0.0"}},
			"Invalid field: destinations [ Invalid IP, Invalid IP ]"},
		{"protocol then destinations", &SecurityGroupRule{Protocol: "x"},
			"Invalid field: protocol, Invalid field: destinations [ Must have at least 1 destination ]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkValidation(t, c.r.Validate(), c.want)
		})
	}
}

func TestSmallModelValidation(t *testing.T) {
	cases := []struct {
		name string
		v    interface{ Validate() error }
		want string
	}{
		{"env ok", &EnvironmentVariable{Name: "A"}, ""},
		{"env blank", &EnvironmentVariable{Value: "v"}, "invalid field: name cannot be blank"},
		{"log rate -1", &LogRateLimit{BytesPerSecond: -1}, ""},
		{"log rate -2", &LogRateLimit{BytesPerSecond: -2}, "Invalid field: log_rate_limit"},
		{"tag static", &MetricTagValue{Static: "s"}, ""},
		{"tag index", &MetricTagValue{Dynamic: MetricTagValue_INDEX}, ""},
		{"tag instance guid", &MetricTagValue{Dynamic: MetricTagValue_INSTANCE_GUID}, ""},
		{"tag static with unknown dynamic", &MetricTagValue{Static: "s", Dynamic: 7}, ""},
		{"tag unknown dynamic", &MetricTagValue{Dynamic: 7}, "Invalid field: static, Invalid field: dynamic"},
		{"tag both", &MetricTagValue{Static: "s", Dynamic: MetricTagValue_INDEX}, "Invalid field: static, Invalid field: dynamic"},
		{"mount ok", &VolumeMount{Driver: "d", Mode: "r"}, ""},
		{"mount empty", &VolumeMount{}, "invalid volume_mount driver, invalid volume_mount mode"},
		{"mount devices", &VolumeMount{Driver: "d", Mode: "rw", Shared: &SharedDevice{}, Dedicated: &DedicatedDevice{}},
			"invalid volume_mount volume id, invalid volume_mount mounter id"},
		{"dependency ok", &CachedDependency{From: "f", To: "t", ChecksumAlgorithm: "MD5", ChecksumValue: "v"}, ""},
		{"dependency empty", &CachedDependency{}, "Invalid field: from, Invalid field: to"},
		{"dependency bad algorithm", &CachedDependency{From: "f", To: "t", ChecksumAlgorithm: "crc", ChecksumValue: "v"},
			"Invalid field: invalid algorithm"},
		{"dependency value alone", &CachedDependency{From: "f", To: "t", ChecksumValue: "v"}, "Invalid field: checksum algorithm"},
		{"layer shared without digest", &ImageLayer{Url: "u", DestinationPath: "d", LayerType: ImageLayer_SHARED, MediaType: ImageLayer_TAR}, ""},
		{"layer sha512", &ImageLayer{Url: "u", DestinationPath: "d", LayerType: ImageLayer_EXCLUSIVE, MediaType: ImageLayer_TAR,
			DigestAlgorithm: ImageLayer_SHA512, DigestValue: "v"}, ""},
		{"layer empty", &ImageLayer{},
			"Invalid field: url, Invalid field: destination_path, Invalid field: layer_type, Invalid field: media_type"},
		{"layer exclusive without digest", &ImageLayer{Url: "u", DestinationPath: "d", LayerType: ImageLayer_EXCLUSIVE, MediaType: ImageLayer_TAR},
			"Invalid field: digest_algorithm, Invalid field: digest_value"},
		{"layer digest value alone, algorithm twice", &ImageLayer{Url: "u", DestinationPath: "d", LayerType: ImageLayer_SHARED,
			MediaType: ImageLayer_TAR, DigestValue: "v"}, "Invalid field: digest_algorithm, Invalid field: digest_algorithm"},
		{"layer algorithm alone", &ImageLayer{Url: "u", DestinationPath: "d", LayerType: ImageLayer_SHARED,
			MediaType: ImageLayer_TAR, DigestAlgorithm: ImageLayer_SHA256}, "Invalid field: digest_value"},
		{"layer unknown algorithm", &ImageLayer{Url: "u", DestinationPath: "d", LayerType: ImageLayer_SHARED,
			MediaType: ImageLayer_TAR, DigestAlgorithm: 9, DigestValue: "v"}, "Invalid field: digest_algorithm"},
		{"check tcp", &Check{TcpCheck: &TCPCheck{Port: 1}}, ""},
		{"check neither reads as port 0", &Check{}, "Invalid field: port"},
		{"check both", &Check{TcpCheck: &TCPCheck{Port: 1}, HttpCheck: &HTTPCheck{Port: 1}}, "Invalid field: check"},
		{"check port too high", &Check{HttpCheck: &HTTPCheck{Port: 65536}}, "Invalid field: port"},
		{"check definition", &CheckDefinition{Checks: []*Check{{}, nil}, ReadinessChecks: []*Check{{TcpCheck: &TCPCheck{Port: 70000}}}},
			"Invalid field: port, Invalid field: port, Invalid field: port"},
		{"sidecar ok", &Sidecar{Action: runAction()}, ""},
		{"sidecar empty", &Sidecar{DiskMb: -1, MemoryMb: -1}, "invalid action type, Invalid field: memory_mb, Invalid field: disk_mb"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkValidation(t, c.v.Validate(), c.want)
		})
	}
}

func TestImageLayersNeedLegacyUser(t *testing.T) {
	var p problemList
	appendImageLayerProblems(&p, []*ImageLayer{{LayerType: ImageLayer_EXCLUSIVE}, nil}, "")
	want := "Invalid field: image_layer, Invalid field: url, Invalid field: destination_path, " +
		"Invalid field: media_type, Invalid field: digest_algorithm, Invalid field: digest_value, " +
		"Invalid field: image_layer, Invalid field: url, Invalid field: destination_path, " +
		"Invalid field: layer_type, Invalid field: media_type, " +
		"Invalid field: legacy_download_user"
	checkValidation(t, p.toError(), want)
}
