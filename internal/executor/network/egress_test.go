package network

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/diego-go/diego/internal/models"
)

func TestEgressRuleSpecs(t *testing.T) {
	const logChain = "p-L-0123456789ab"
	cases := []struct {
		name string
		rule *models.SecurityGroupRule
		want []string // rule specs joined by spaces
	}{
		{
			name: "tcp port to an IP",
			rule: &models.SecurityGroupRule{Protocol: "tcp", Destinations: []string{"10.0.0.1"}, Ports: []uint32{80}},
			want: []string{"-p tcp -d 10.0.0.1 --dport 80 -j ACCEPT"},
		},
		{
			name: "udp ports to a CIDR, normalised",
			rule: &models.SecurityGroupRule{Protocol: "udp", Destinations: []string{"10.0.0.7/24"}, Ports: []uint32{53, 5353}},
			want: []string{"-p udp -d 10.0.0.0/24 -m multiport --dports 53,5353 -j ACCEPT"},
		},
		{
			name: "port range to a range",
			rule: &models.SecurityGroupRule{Protocol: "tcp", Destinations: []string{"10.0.0.1-10.0.0.9"}, PortRange: &models.PortRange{Start: 8000, End: 9000}},
			want: []string{"-p tcp -m iprange --dst-range 10.0.0.1-10.0.0.9 --dport 8000:9000 -j ACCEPT"},
		},
		{
			name: "one-port range",
			rule: &models.SecurityGroupRule{Protocol: "tcp", Destinations: []string{"10.0.0.1"}, PortRange: &models.PortRange{Start: 443, End: 443}},
			want: []string{"-p tcp -d 10.0.0.1 --dport 443 -j ACCEPT"},
		},
		{
			name: "comma-separated and several destinations",
			rule: &models.SecurityGroupRule{Protocol: "all", Destinations: []string{"10.0.0.1,10.0.1.0/24", "10.0.2.1-10.0.2.2"}},
			want: []string{
				"-p all -d 10.0.0.1 -j ACCEPT",
				"-p all -d 10.0.1.0/24 -j ACCEPT",
				"-p all -m iprange --dst-range 10.0.2.1-10.0.2.2 -j ACCEPT",
			},
		},
		{
			name: "icmp type and code",
			rule: &models.SecurityGroupRule{Protocol: "icmp", Destinations: []string{"0.0.0.0/0"}, IcmpInfo: &models.ICMPInfo{Type: 8, Code: 0}},
			want: []string{"-p icmp -d 0.0.0.0/0 --icmp-type 8/0 -j ACCEPT"},
		},
		{
			// The reference casts to a byte: -1 is 255, type 255 any type.
			name: "icmp any",
			rule: &models.SecurityGroupRule{Protocol: "icmp", Destinations: []string{"10.0.0.1"}, IcmpInfo: &models.ICMPInfo{Type: -1, Code: -1}},
			want: []string{"-p icmp -d 10.0.0.1 --icmp-type 255/255 -j ACCEPT"},
		},
		{
			name: "logged",
			rule: &models.SecurityGroupRule{Protocol: "tcp", Destinations: []string{"10.0.0.1"}, Ports: []uint32{80}, Log: true},
			want: []string{"-p tcp -d 10.0.0.1 --dport 80 -g " + logChain},
		},
		{
			name: "more than 15 ports",
			rule: &models.SecurityGroupRule{Protocol: "tcp", Destinations: []string{"10.0.0.1"},
				Ports: []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
			want: []string{
				"-p tcp -d 10.0.0.1 -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -j ACCEPT",
				"-p tcp -d 10.0.0.1 --dport 16 -j ACCEPT",
			},
		},
		{
			name: "ipv6 destinations and icmpv6 allow nothing here",
			rule: &models.SecurityGroupRule{Protocol: "tcp", Destinations: []string{"::1", "fd00::/8", "10.0.0.1", "fd00::1-fd00::2"}, Ports: []uint32{80}},
			want: []string{"-p tcp -d 10.0.0.1 --dport 80 -j ACCEPT"},
		},
		{
			name: "icmpv6",
			rule: &models.SecurityGroupRule{Protocol: "icmpv6", Destinations: []string{"::/0"}, IcmpInfo: &models.ICMPInfo{Type: 128}},
			want: nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			specs, err := egressRuleSpecs([]*models.SecurityGroupRule{c.rule}, logChain)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range specs {
				got = append(got, strings.Join(s, " "))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("specs =\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

func TestEgressRuleSpecsRejectsBadRules(t *testing.T) {
	cases := map[string]*models.SecurityGroupRule{
		"nil":                  nil,
		"unknown protocol":     {Protocol: "sctp", Destinations: []string{"10.0.0.1"}},
		"tcp without ports":    {Protocol: "tcp", Destinations: []string{"10.0.0.1"}},
		"icmp without info":    {Protocol: "icmp", Destinations: []string{"10.0.0.1"}},
		"all with ports":       {Protocol: "all", Destinations: []string{"10.0.0.1"}, Ports: []uint32{80}},
		"no destination":       {Protocol: "all"},
		"bad IP":               {Protocol: "all", Destinations: []string{"10.0.0"}},
		"bad CIDR":             {Protocol: "all", Destinations: []string{"10.0.0.0/33"}},
		"backwards range":      {Protocol: "all", Destinations: []string{"10.0.0.9-10.0.0.1"}},
		"mixed range":          {Protocol: "all", Destinations: []string{"10.0.0.1-fd00::1"}},
		"port beyond 65535":    {Protocol: "tcp", Destinations: []string{"10.0.0.1"}, Ports: []uint32{65536}},
		"range beyond 65535":   {Protocol: "udp", Destinations: []string{"10.0.0.1"}, PortRange: &models.PortRange{Start: 1, End: 70000}},
		"ports and port range": {Protocol: "tcp", Destinations: []string{"10.0.0.1"}, Ports: []uint32{1}, PortRange: &models.PortRange{Start: 1, End: 2}},
	}
	for name, rule := range cases {
		t.Run(name, func(t *testing.T) {
			ok := &models.SecurityGroupRule{Protocol: "all", Destinations: []string{"10.0.0.1"}}
			_, err := egressRuleSpecs([]*models.SecurityGroupRule{ok, rule}, "log")
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "egress rule 1") {
				t.Errorf("error = %v, want invalid egress rule 1", err)
			}
		})
	}
}
