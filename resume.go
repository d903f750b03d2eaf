package websocket

// readResume is what a read cut off by its context leaves for the next
// read, so that no byte of a message is lost, delivered twice, or
// delivered after the application abandoned the message. It is owned by
// the reader (the goroutine holding readMu), and only these methods change
// it.
//
// Invariants:
//   - interrupted is set only while a data message is under way: the next
//     read continues that message where the cut-off read stopped, instead
//     of starting the next one.
//   - pending holds the first bytes of that message, read by a Read that
//     was then cut off and returned none of them, and nothing else. The
//     next read takes them first; starting or abandoning a message empties
//     it.
//   - A message abandoned by the application (a Reader left unfinished) is
//     never resumed: its rest is skipped, even when the skip is itself cut
//     off by its context (the next read takes up the skip).
type readResume struct {
	interrupted bool
	pending     []byte
}

// cut records that a read was cut off by its context; active tells whether
// a data message was under way, which the next read is then to continue.
func (r *readResume) cut(active bool) { r.interrupted = active }

// resume reports whether the next read continues a message that a read
// cut off, and consumes that mark.
func (r *readResume) resume() bool {
	i := r.interrupted
	r.interrupted = false
	return i
}

// abandon makes the message under way, if any, one to skip rather than
// resume, and drops the bytes held of it.
func (r *readResume) abandon() {
	r.interrupted = false
	r.pending = r.pending[:0]
}

// keep holds b, bytes of the message that a cut-off Read had read.
func (r *readResume) keep(b []byte) { r.pending = append(r.pending, b...) }

// appendTo appends the bytes held to buf and forgets them.
func (r *readResume) appendTo(buf []byte) []byte {
	buf = append(buf, r.pending...)
	r.pending = r.pending[:0]
	return buf
}

// read moves bytes held into p, for a Reader continuing the message.
func (r *readResume) read(p []byte) int {
	n := copy(p, r.pending)
	r.pending = r.pending[:copy(r.pending, r.pending[n:])]
	return n
}

// holds reports whether bytes of a message are held.
func (r *readResume) holds() bool { return len(r.pending) > 0 }
