package network

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNewRejectsBadConfig(t *testing.T) {
	good := func() Config {
		return Config{BridgeName: "dgbr0", Subnet: "10.250.0.0/24", StateDir: t.TempDir(), PluginDirs: []string{t.TempDir()}}
	}
	cases := map[string]func(c *Config){
		"no bridge":            func(c *Config) { c.BridgeName = "" },
		"long bridge":          func(c *Config) { c.BridgeName = "abcdefghijklmnop" },
		"bridge with slash":    func(c *Config) { c.BridgeName = "a/b" },
		"no subnet":            func(c *Config) { c.Subnet = "" },
		"ipv6 subnet":          func(c *Config) { c.Subnet = "fd00::/64" },
		"tiny subnet":          func(c *Config) { c.Subnet = "10.250.0.0/31" },
		"bad host ip":          func(c *Config) { c.HostIP = "localhost" },
		"backwards port range": func(c *Config) { c.PortRangeStart, c.PortRangeEnd = 2000, 1000 },
		"port range from 0":    func(c *Config) { c.PortRangeStart, c.PortRangeEnd = 0, 1000 },
		"no state dir":         func(c *Config) { c.StateDir = "" },
		"long chain prefix":    func(c *Config) { c.ChainPrefix = "abcdefghijklmn" },
		"dash in chain prefix": func(c *Config) { c.ChainPrefix = "a-b" },
		"tiny mtu":             func(c *Config) { c.MTU = 100 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good()
			mutate(&cfg)
			if _, err := New(context.Background(), cfg, nil); !errors.Is(err, ErrInvalid) {
				t.Errorf("New = %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("plugins missing", func(t *testing.T) {
		_, err := New(context.Background(), good(), nil)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), `"bridge"`) {
			t.Errorf("New = %v, want the bridge plugin unavailable", err)
		}
	})
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}
	c.setDefaults()
	if c.HostIP != "127.0.0.1" || c.PortRangeStart != 60000 || c.PortRangeEnd != 64999 || c.ChainPrefix != "diego" ||
		c.ResolvConf != "/etc/resolv.conf" || !slices.Equal(c.PluginDirs, DefaultPluginDirs) {
		t.Errorf("defaults = %+v", c)
	}
}

func TestValidID(t *testing.T) {
	for _, id := range []string{"ig-1", "a", "0f2e.task_guid-x"} {
		if err := validID(id); err != nil {
			t.Errorf("validID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "-a", ".hidden", "a/b", "a b", strings.Repeat("a", 201)} {
		if err := validID(id); !errors.Is(err, ErrInvalid) {
			t.Errorf("validID(%q) = %v, want ErrInvalid", id, err)
		}
	}
}

func TestSplitRule(t *testing.T) {
	line := `-A POSTROUTING -s 10.1.2.3/32 -m comment --comment "name: \"diego-br\" id: \"ig-1\"" -j CNI-abc`
	want := []string{"-A", "POSTROUTING", "-s", "10.1.2.3/32", "-m", "comment", "--comment", `name: "diego-br" id: "ig-1"`, "-j", "CNI-abc"}
	if got := splitRule(line); !slices.Equal(got, want) {
		t.Errorf("splitRule = %q, want %q", got, want)
	}
}

func TestChainNamesFitIptables(t *testing.T) {
	f := newFirewall(nil, strings.Repeat("p", maxChainPrefix), "br", "10.0.0.0/24", "127.0.0.1")
	out, log := f.chains(strings.Repeat("x", maxIDLength))
	for _, c := range []string{out, log, f.forwardChain(), f.egressChain(), f.inputChain(), f.masqChain()} {
		if len(c) > 28 {
			t.Errorf("chain %q is %d characters, iptables allows 28", c, len(c))
		}
		if c == out || c == log {
			if !f.containerChain.MatchString(c) {
				t.Errorf("chain %q is not recognised as a container chain", c)
			}
		}
	}
	other := newFirewall(nil, "pp", "br", "10.0.0.0/24", "127.0.0.1")
	if other.containerChain.MatchString(out) {
		t.Errorf("prefix pp claims %q", out)
	}
}
