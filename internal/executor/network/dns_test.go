package network

import (
	"strings"
	"testing"
)

func TestResolvConf(t *testing.T) {
	cases := []struct {
		name, cell, want string
	}{
		{"plain", "nameserver 10.0.0.2\nnameserver 10.0.0.3\n", "nameserver 10.0.0.2\nnameserver 10.0.0.3\n"},
		{"search and options kept", "search example.com\noptions ndots:2\nnameserver 10.0.0.2\n",
			"search example.com\noptions ndots:2\nnameserver 10.0.0.2\n"},
		{"only a local resolver", "nameserver 127.0.0.53\n", "nameserver 10.1.2.1\n"},
		{"only a local resolver, spaces", "  nameserver   127.0.0.1  \n\n", "nameserver 10.1.2.1\n"},
		{"loopback among others is dropped", "nameserver 127.0.0.53\nnameserver 8.8.8.8\n", "nameserver 8.8.8.8\n"},
		{"systemd-resolved stub", "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n", "options edns0 trust-ad\nsearch .\n"},
		{"127/8 beyond 127.0.0.x", "nameserver 127.1.2.3\nnameserver 10.0.0.2\n", "nameserver 10.0.0.2\n"},
		{"malformed nameserver dropped", "nameserver\nnameserver 1.1.1.1 extra\nnameserver 9.9.9.9\n", "nameserver 9.9.9.9\n"},
		{"tabs normalised", "nameserver\t10.0.0.2\n", "nameserver 10.0.0.2\n"},
		{"empty lines dropped, comments kept", "# cell\n\n\nnameserver 10.0.0.2", "# cell\nnameserver 10.0.0.2\n"},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ResolvConf(c.cell, "10.1.2.1"); got != c.want {
				t.Errorf("ResolvConf(%q) = %q, want %q", c.cell, got, c.want)
			}
		})
	}
}

func TestHostsFile(t *testing.T) {
	if got, want := HostsFile("10.1.2.3", "ig-1"), "127.0.0.1 localhost\n10.1.2.3 ig-1\n"; got != want {
		t.Errorf("HostsFile = %q, want %q", got, want)
	}
	long := strings.Repeat("a", 10) + strings.Repeat("b", 49)
	if got, want := HostsFile("10.1.2.3", long), "127.0.0.1 localhost\n10.1.2.3 "+strings.Repeat("b", 49)+"\n"; got != want {
		t.Errorf("HostsFile(long) = %q, want %q", got, want)
	}
}
