package events

import (
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/models"
)

func readAll(t *testing.T, input string) ([]RawEvent, error) {
	t.Helper()
	r := NewReader(iotest.OneByteReader(strings.NewReader(input)))
	var out []RawEvent
	for {
		ev, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func TestReaderParsesTheFormat(t *testing.T) {
	cases := []struct {
		name  string
		input string
		want  []RawEvent
	}{
		{"bbs framing", "id: 0\nevent: task_created\ndata: CgA=\n\nid: 1\nevent: task_removed\ndata: CgA=\n\n",
			[]RawEvent{{"0", "task_created", []byte("CgA=")}, {"1", "task_removed", []byte("CgA=")}}},
		{"crlf, comments, no space", ":hello\r\nid:7\r\nevent:x\r\ndata:abc\r\n\r\n",
			[]RawEvent{{"7", "x", []byte("abc")}}},
		{"several data lines", "data: a\ndata: b\ndata\n\n",
			[]RawEvent{{"", "", []byte("a\nb\n")}}},
		{"events without data are skipped, the id carries over", "id: 5\nevent: ping\n\nevent: e\ndata: d\n\n",
			[]RawEvent{{"", "e", []byte("d")}}},
		{"id persists", "id: 3\ndata: a\n\ndata: b\n\n",
			[]RawEvent{{"3", "", []byte("a")}, {"3", "", []byte("b")}}},
		{"empty data line is an event with empty data", "event: task_created\ndata: \n\n",
			[]RawEvent{{"", "task_created", []byte{}}}},
		{"unknown fields ignored", "retry: 10\nfoo: bar\ndata: x\n\n",
			[]RawEvent{{"", "", []byte("x")}}},
		{"event cut by the end of the stream", "id: 0\ndata: x\n\nid: 1\ndata: y",
			[]RawEvent{{"0", "", []byte("x")}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := readAll(t, c.input)
			if err != io.EOF {
				t.Fatalf("ended with %v, want io.EOF", err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d events %+v, want %+v", len(got), got, c.want)
			}
			for i := range got {
				if got[i].ID != c.want[i].ID || got[i].Name != c.want[i].Name || string(got[i].Data) != string(c.want[i].Data) {
					t.Errorf("event %d = %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestReaderLongLinesAndBrokenStreams(t *testing.T) {
	long := strings.Repeat("A", 200<<10)
	got, err := readAll(t, "data: "+long+"\n\n")
	if err != io.EOF || len(got) != 1 || string(got[0].Data) != long {
		t.Fatalf("long line: %d events, %v", len(got), err)
	}
	r := NewReader(io.MultiReader(strings.NewReader("data: x\n\ndata: y"), iotest.ErrReader(io.ErrUnexpectedEOF)))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("broken stream: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestDecode(t *testing.T) {
	msg := &models.TaskChangedEvent{Before: &models.Task{TaskGuid: "g", State: models.Task_Pending}, After: &models.Task{TaskGuid: "g", State: models.Task_Running}}
	payload, _ := proto.Marshal(msg)
	ev, err := Decode(RawEvent{ID: "0", Name: "task_changed", Data: []byte(base64.StdEncoding.EncodeToString(payload))})
	if err != nil {
		t.Fatal(err)
	}
	if ev.EventType() != "task_changed" || !proto.Equal(Message(ev), msg) {
		t.Fatalf("decoded %q %v", ev.EventType(), Message(ev))
	}
	if _, ok := Message(ev).(*models.TaskChangedEvent); !ok {
		t.Fatalf("decoded into %T", Message(ev))
	}

	var unknown *UnrecognizedEventTypeError
	_, err = Decode(RawEvent{Name: "something_new", Data: []byte("CgA=")})
	if !errors.Is(err, ErrUnrecognizedEventType) || !errors.As(err, &unknown) || unknown.EventType != "something_new" {
		t.Fatalf("unknown name: %v", err)
	}

	var invalid *InvalidPayloadError
	_, err = Decode(RawEvent{Name: "task_created", Data: nil})
	if !errors.Is(err, ErrNoData) || !errors.As(err, &invalid) || invalid.EventType != "task_created" {
		t.Fatalf("no data: %v", err)
	}
	// Zero-length data is an error even for a name nobody knows.
	if _, err = Decode(RawEvent{Name: "something_new"}); !errors.Is(err, ErrNoData) {
		t.Fatalf("no data, unknown name: %v", err)
	}
	if _, err = Decode(RawEvent{Name: "task_created", Data: []byte("CgAA!")}); !errors.As(err, &invalid) || errors.Is(err, ErrNoData) {
		t.Fatalf("bad base64: %v", err)
	}
	if _, err = Decode(RawEvent{Name: "task_created", Data: []byte(base64.StdEncoding.EncodeToString([]byte{0x0a, 0x05}))}); !errors.As(err, &invalid) {
		t.Fatalf("truncated protobuf: %v", err)
	}
}

func TestEventNames(t *testing.T) {
	names := []string{
		"desired_lrp_created", "desired_lrp_changed", "desired_lrp_removed",
		"actual_lrp_instance_created", "actual_lrp_instance_changed", "actual_lrp_instance_removed",
		"actual_lrp_crashed", "actual_lrp_created", "actual_lrp_changed", "actual_lrp_removed",
		"task_created", "task_changed", "task_removed",
	}
	for _, name := range names {
		msg, ok := NewMessage(name)
		if !ok {
			t.Errorf("NewMessage(%q) failed", name)
			continue
		}
		if got, ok := TypeName(msg); !ok || got != name {
			t.Errorf("TypeName(NewMessage(%q)) = %q, %v", name, got, ok)
		}
		if ev := asEvent(name, msg); ev.EventType() != name || Message(ev) != msg {
			t.Errorf("asEvent(%q) = %q %T", name, ev.EventType(), Message(ev))
		}
	}
	if _, ok := NewMessage("nope"); ok {
		t.Error("NewMessage of an unknown name succeeded")
	}
	if _, ok := TypeName(&models.Task{}); ok {
		t.Error("TypeName of a Task succeeded")
	}
	if _, ok := TypeName(nil); ok {
		t.Error("TypeName(nil) succeeded")
	}
}
