package network

import (
	"slices"
	"testing"
)

func TestInstanceEnv(t *testing.T) {
	cases := []struct {
		name               string
		external, internal string
		ipv6               string
		ports              []PortMapping
		want               []string
	}{
		{
			name: "no ports", external: "10.0.0.5", internal: "10.255.0.2",
			want: []string{
				"CF_INSTANCE_IP=10.0.0.5", "CF_INSTANCE_INTERNAL_IP=10.255.0.2",
				"CF_INSTANCE_PORT=", "CF_INSTANCE_ADDR=", "CF_INSTANCE_PORTS=[]",
			},
		},
		{
			name: "two ports", external: "10.0.0.5", internal: "10.255.0.2",
			ports: []PortMapping{{ContainerPort: 8080, HostPort: 61001}, {ContainerPort: 2222, HostPort: 61002}},
			want: []string{
				"CF_INSTANCE_IP=10.0.0.5", "CF_INSTANCE_INTERNAL_IP=10.255.0.2",
				"CF_INSTANCE_PORT=61001", "CF_INSTANCE_ADDR=10.0.0.5:61001",
				`CF_INSTANCE_PORTS=[{"external":61001,"internal":8080},{"external":61002,"internal":2222}]`,
			},
		},
		{
			name: "tls proxy ports", external: "10.0.0.5", internal: "10.255.0.2",
			ports: []PortMapping{{ContainerPort: 8080, HostPort: 61001, ContainerTLSProxyPort: 61443, HostTLSProxyPort: 61002}},
			want: []string{
				"CF_INSTANCE_IP=10.0.0.5", "CF_INSTANCE_INTERNAL_IP=10.255.0.2",
				"CF_INSTANCE_PORT=61001", "CF_INSTANCE_ADDR=10.0.0.5:61001",
				`CF_INSTANCE_PORTS=[{"external":61001,"internal":8080,"external_tls_proxy":61002,"internal_tls_proxy":61443}]`,
			},
		},
		{
			// The first mapping has no host port: no CF_INSTANCE_PORT/ADDR
			// at all, and "external" is left out.
			name: "unmapped first port", external: "10.0.0.5", internal: "10.255.0.2",
			ports: []PortMapping{{ContainerPort: 8080}, {ContainerPort: 9090, HostPort: 61003}},
			want: []string{
				"CF_INSTANCE_IP=10.0.0.5", "CF_INSTANCE_INTERNAL_IP=10.255.0.2",
				`CF_INSTANCE_PORTS=[{"internal":8080},{"external":61003,"internal":9090}]`,
			},
		},
		{
			name: "ipv6", external: "10.0.0.5", internal: "10.255.0.2", ipv6: "fd00::2",
			want: []string{
				"CF_INSTANCE_IP=10.0.0.5", "CF_INSTANCE_INTERNAL_IP=10.255.0.2", "CF_INSTANCE_INTERNAL_IPV6=fd00::2",
				"CF_INSTANCE_PORT=", "CF_INSTANCE_ADDR=", "CF_INSTANCE_PORTS=[]",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := InstanceEnv(c.external, c.internal, c.ipv6, c.ports); !slices.Equal(got, c.want) {
				t.Errorf("InstanceEnv =\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

func TestIdentityEnv(t *testing.T) {
	want := []string{"INSTANCE_GUID=ig-1", "INSTANCE_INDEX=3", "CF_INSTANCE_GUID=ig-1", "CF_INSTANCE_INDEX=3"}
	if got := IdentityEnv("ig-1", 3); !slices.Equal(got, want) {
		t.Errorf("IdentityEnv = %q, want %q", got, want)
	}
}
