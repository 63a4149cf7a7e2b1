package containerd

import "bytes"

// maxLine bounds a buffered line: a longer one is delivered in pieces (the
// log streamer cuts lines at 61,440 bytes anyway).
const maxLine = 64 << 10

// lineWriter turns a byte stream into lines for a callback. It is used by
// one goroutine (cio's copy of one FIFO), then flushed once.
type lineWriter struct {
	stream Stream
	emit   func(Stream, string)
	buf    []byte
	// afterCR is set when the last write ended in \r, so that a \n
	// starting the next one completes that line ending.
	afterCR bool
}

func newLineWriter(stream Stream, emit func(Stream, string)) *lineWriter {
	return &lineWriter{stream: stream, emit: emit}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	if w.emit == nil {
		return len(p), nil
	}
	n := len(p)
	if w.afterCR && len(p) > 0 && p[0] == '\n' {
		p = p[1:]
	}
	w.afterCR = false
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\n\r")
		if i < 0 {
			w.buf = append(w.buf, p...)
			w.emitFull()
			break
		}
		w.buf = append(w.buf, p[:i]...)
		w.emitFull()
		w.emit(w.stream, string(w.buf))
		w.buf = w.buf[:0]
		// \r\n is one line ending.
		if p[i] == '\r' {
			if i+1 == len(p) {
				w.afterCR = true
			} else if p[i+1] == '\n' {
				i++
			}
		}
		p = p[i+1:]
	}
	return n, nil
}

// emitFull delivers the buffer in maxLine pieces while it holds one.
func (w *lineWriter) emitFull() {
	for len(w.buf) >= maxLine {
		w.emit(w.stream, string(w.buf[:maxLine]))
		w.buf = w.buf[maxLine:]
	}
}

// flush delivers a last line that had no line ending.
func (w *lineWriter) flush() {
	if w.emit != nil && len(w.buf) > 0 {
		w.emit(w.stream, string(w.buf))
		w.buf = nil
	}
}
