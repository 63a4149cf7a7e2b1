package db

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	cases := []struct {
		in   string
		want int
	}{
		{strings.Repeat("a", 1023), 1023},
		{strings.Repeat("a", 1024), 1024},
		{strings.Repeat("a", 5000), 1024},
		{strings.Repeat("é", 600), 0}, // 1200 bytes, cut on a rune boundary
	}
	for _, c := range cases {
		got := truncate(c.in, 1024)
		if !utf8.ValidString(got) || len(got) > 1024 {
			t.Fatalf("truncate(%d bytes) = %d bytes, valid %v", len(c.in), len(got), utf8.ValidString(got))
		}
		if c.want != 0 && len(got) != c.want {
			t.Fatalf("truncate(%d bytes) = %d bytes, want %d", len(c.in), len(got), c.want)
		}
		if len(c.in) >= 1024 && !strings.HasSuffix(got, Truncated) {
			t.Fatalf("truncate(%d bytes) lacks the marker", len(c.in))
		}
	}
}
