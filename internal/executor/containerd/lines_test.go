package containerd

import (
	"reflect"
	"strings"
	"testing"
)

func TestLineWriterSplitsOnNewlineAndCarriageReturn(t *testing.T) {
	cases := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"one write", []string{"a\nb\n"}, []string{"a", "b"}},
		{"split line", []string{"he", "llo\nwor", "ld"}, []string{"hello", "world"}},
		{"crlf", []string{"a\r\nb\rc\n"}, []string{"a", "b", "c"}},
		{"crlf across writes", []string{"a\r", "\nb\n"}, []string{"a", "b"}},
		{"empty lines", []string{"\n\nx\n"}, []string{"", "", "x"}},
		{"no trailing newline", []string{"last"}, []string{"last"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			w := newLineWriter(Stdout, func(s Stream, line string) {
				if s != Stdout {
					t.Errorf("stream %v", s)
				}
				got = append(got, line)
			})
			for _, s := range c.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			w.flush()
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("lines = %q, want %q", got, c.want)
			}
		})
	}
}

func TestLineWriterCutsLongLines(t *testing.T) {
	var got []int
	w := newLineWriter(Stderr, func(_ Stream, line string) { got = append(got, len(line)) })
	_, _ = w.Write([]byte(strings.Repeat("x", maxLine*2+10) + "\n"))
	if want := []int{maxLine, maxLine, 10}; !reflect.DeepEqual(got, want) {
		t.Errorf("pieces = %v, want %v", got, want)
	}
}

func TestMergeEnvLaterWins(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "A=1"}, []string{"B=2", "A=3"}, []string{"PATH=/x"})
	want := []string{"PATH=/x", "A=3", "B=2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mergeEnv = %q, want %q", got, want)
	}
}

func TestCPUShares(t *testing.T) {
	if got := CPUShares(50, 1024); got != 512 {
		t.Errorf("CPUShares(50, 1024) = %d", got)
	}
}
