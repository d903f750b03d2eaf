package fuzz

import (
	"encoding/binary"
	"fmt"

	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// consume appends incoming octets and processes as many frames (or frame
// parts) as possible. Data arriving after the connection is closed is ignored.
func (p *Peer) consume(data []byte) {
	p.stats.addRxOctets(len(data))
	p.logOctets("RO", data)
	if p.state == StateClosed {
		return
	}
	// Frames are processed straight from data; what is left (at most a
	// partial frame header) is kept, since the caller reuses data.
	if len(p.pending) > 0 {
		p.pending = append(p.pending, data...)
		p.buf = p.pending
	} else {
		p.buf = data
	}
	for (p.state == StateOpen || p.state == StateClosing) && p.processData() {
	}
	p.pending = append(p.pending[:0], p.buf...)
	p.buf = nil
}

// processData handles the next frame header or the next part of the current
// frame's payload. It returns true when it should be called again.
//
// Like the reference suite (failByDrop off), a protocol violation fails the
// connection with a close frame but does not stop processing of the frame at
// hand.
func (p *Peer) processData() bool {
	if p.cur == nil {
		return p.processHeader()
	}
	f := p.cur
	rest := f.length - f.pos
	take := uint64(len(p.buf))
	if take > rest {
		take = rest
	}
	chunk := p.buf[:take]
	p.buf = p.buf[take:]
	if f.masked && len(chunk) > 0 {
		f.kpos = wire.Mask(f.key, f.kpos, chunk)
	}
	f.pos += take
	p.frameData(chunk)
	if f.pos == f.length {
		p.frameEnd()
	}
	return len(p.buf) > 0
}

func (p *Peer) processHeader() bool {
	if len(p.buf) < 2 {
		return false
	}
	b0, b1 := p.buf[0], p.buf[1]
	fin := b0&0x80 != 0
	rsv := (b0 >> 4) & 7
	opcode := b0 & 0x0f
	masked := b1&0x80 != 0
	len1 := b1 & 0x7f

	if rsv != 0 {
		switch {
		case p.cfg.Deflate == nil:
			p.protocolViolation(fmt.Sprintf("RSV = %d and no extension negotiated", rsv))
		case rsv != 4:
			p.protocolViolation(fmt.Sprintf("RSV = %d, but permessage-deflate defines RSV1 only", rsv))
		case opcode > 7:
			p.protocolViolation("RSV1 set on a control frame")
		case opcode == wire.OpContinuation:
			p.protocolViolation("RSV1 set on a continuation frame")
		}
	}
	if p.cfg.IsServer && !masked {
		p.protocolViolation("unmasked client-to-server frame")
	}
	if !p.cfg.IsServer && masked {
		p.protocolViolation("masked server-to-client frame")
	}
	if opcode > 7 {
		if !fin {
			p.protocolViolation("fragmented control frame")
		}
		if len1 > 125 {
			p.protocolViolation("control frame with payload length > 125 octets")
		}
		if opcode != wire.OpClose && opcode != wire.OpPing && opcode != wire.OpPong {
			p.protocolViolation(fmt.Sprintf("control frame using reserved opcode %d", opcode))
		}
		if opcode == wire.OpClose && len1 == 1 {
			p.protocolViolation("received close control frame with payload len 1")
		}
	} else {
		if opcode > 2 {
			p.protocolViolation(fmt.Sprintf("data frame using reserved opcode %d", opcode))
		}
		if !p.insideMessage && opcode == wire.OpContinuation {
			p.protocolViolation("received continuation data frame outside fragmented message")
		}
		if p.insideMessage && opcode != wire.OpContinuation {
			p.protocolViolation("received non-continuation data frame while inside fragmented message")
		}
	}
	if p.state == StateClosed {
		// A violation while closing dropped the connection.
		return false
	}

	hl := 2
	if masked {
		hl += 4
	}
	switch len1 {
	case 126:
		hl += 2
	case 127:
		hl += 8
	}
	if len(p.buf) < hl {
		return false
	}
	i := 2
	length := uint64(len1)
	switch len1 {
	case 126:
		length = uint64(binary.BigEndian.Uint16(p.buf[2:4]))
		if length < 126 {
			p.protocolViolation("invalid data frame length (not using minimal length encoding)")
		}
		i += 2
	case 127:
		length = binary.BigEndian.Uint64(p.buf[2:10])
		if length > 1<<63-1 {
			p.protocolViolation("invalid data frame length (>2^63)")
		}
		if length < 65536 {
			p.protocolViolation("invalid data frame length (not using minimal length encoding)")
		}
		i += 8
	}
	f := &frameState{fin: fin, rsv: rsv, opcode: opcode, length: length, masked: masked}
	if masked {
		copy(f.key[:], p.buf[i:i+4])
		i += 4
	}
	p.buf = p.buf[i:]
	p.cur = f
	p.frameBegin()
	return length == 0 || len(p.buf) > 0
}

func (p *Peer) frameBegin() {
	f := p.cur
	if f.opcode > 7 {
		p.ctrlData = p.ctrlData[:0]
		return
	}
	if !p.insideMessage {
		p.insideMessage = true
		p.msgBinary = f.opcode == wire.OpBinary
		p.msgCompressed = f.rsv&4 != 0 && p.inflater != nil
		// A compressed text message is validated once inflated.
		p.validateText = f.opcode == wire.OpText && !p.msgCompressed
		if p.validateText {
			p.utf8.Reset()
			p.utf8Last = [2]bool{true, true}
		}
		p.msgData = p.msgData[:0]
	}
	p.frameBuf = p.frameBuf[:0]
}

func (p *Peer) frameData(chunk []byte) {
	f := p.cur
	if f.opcode > 7 {
		p.ctrlData = append(p.ctrlData, chunk...)
		return
	}
	if p.validateText {
		ok, complete := p.utf8.Validate(chunk)
		p.utf8Last = [2]bool{ok, complete}
		if !ok {
			p.invalidPayload(fmt.Sprintf("encountered invalid UTF-8 while processing text message at payload octet index %d", p.utf8.Offset()))
		}
	}
	if !p.failedByMe {
		p.frameBuf = append(p.frameBuf, chunk...)
	}
}

func (p *Peer) frameEnd() {
	f := p.cur
	if f.opcode > 7 {
		p.stats.addRxFrame(f.opcode)
		p.logFrame("RF", f.opcode, f.fin, f.rsv, f.masked, p.ctrlData, 0, false)
		p.processControlFrame()
		p.cur = nil
		return
	}
	p.stats.addRxFrame(f.opcode)
	p.logFrame("RF", f.opcode, f.fin, f.rsv, f.masked, p.frameBuf, 0, false)
	if !p.failedByMe {
		p.msgData = append(p.msgData, p.frameBuf...)
	}
	p.frameBuf = p.frameBuf[:0]
	if f.fin {
		if p.validateText && !p.utf8Last[1] {
			p.invalidPayload(fmt.Sprintf("UTF-8 text message payload ended within Unicode code point at payload octet index %d", p.utf8.Offset()))
		}
		if !p.failedByMe {
			msg := p.msgData
			if msg == nil {
				msg = []byte{}
			}
			if len(p.msgData) > 1<<20 {
				p.msgData = nil // do not keep a large buffer for later messages
			}
			if p.msgCompressed {
				msg = p.inflate(msg)
			}
			if msg != nil {
				p.handler.Message(p, msg, p.msgBinary)
			}
		}
		p.msgData = p.msgData[:0]
		p.insideMessage = false
	}
	p.cur = nil
}

// maxInflated bounds the size of a decompressed message.
const maxInflated = 64 << 20

// inflate decompresses a complete message and validates a text message. It
// fails the connection and returns nil when the payload is not valid.
func (p *Peer) inflate(payload []byte) []byte {
	msg, err := p.inflater.Inflate(payload, maxInflated)
	if err != nil {
		p.protocolViolation(fmt.Sprintf("cannot decompress message: %v", err))
		return nil
	}
	p.comp.Received.Messages++
	p.comp.Received.Octets += int64(len(msg))
	p.comp.Received.Compressed += int64(len(payload))
	if !p.msgBinary && !wire.ValidUTF8(msg) {
		p.invalidPayload("encountered invalid UTF-8 in a decompressed text message")
		return nil
	}
	return msg
}

func (p *Peer) processControlFrame() {
	payload := append([]byte(nil), p.ctrlData...)
	switch p.cur.opcode {
	case wire.OpClose:
		var code *int
		var reason []byte
		if len(payload) > 1 {
			c := int(binary.BigEndian.Uint16(payload))
			code = &c
			if len(payload) > 2 {
				reason = payload[2:]
			}
		}
		p.onCloseFrame(code, reason)
	case wire.OpPing:
		if p.state == StateOpen {
			p.SendFrame(Frame{Opcode: wire.OpPong, Fin: true, Payload: payload})
		}
	case wire.OpPong:
		p.handler.Pong(p, payload)
	}
}

// onCloseFrame handles a close frame from the testee.
func (p *Peer) onCloseFrame(code *int, reason []byte) {
	p.remoteCode, p.remoteReason = nil, nil
	if code != nil && !wire.ValidCloseCode(*code) {
		p.protocolViolation(fmt.Sprintf("invalid close code %d", *code))
		normal := 1000
		p.remoteCode = &normal
	} else {
		p.remoteCode = code
	}
	if reason != nil {
		if !wire.ValidUTF8(reason) {
			p.invalidPayload("invalid close reason (non-UTF8 payload)")
		} else {
			s := string(reason)
			p.remoteReason = &s
		}
	}
	switch p.state {
	case StateClosing:
		// The reply to our close frame.
		if p.closeHSTimer != nil {
			p.closeHSTimer.canceled = true
			p.closeHSTimer = nil
		}
		p.wasClean = true
		if p.cfg.IsServer {
			p.dropConnection(true)
		} else if p.cfg.ServerConnectionDropTimeout > 0 {
			p.dropTimer = p.after(p.cfg.ServerConnectionDropTimeout, false, p.onServerConnectionDropTimeout)
		}
	case StateOpen:
		// The testee starts the closing handshake: reply with a normal close.
		p.wasClean = true
		normal := 1000
		p.SendCloseFrame(&normal, nil, true)
		if p.cfg.IsServer {
			p.dropConnection(false)
		}
	case StateClosed:
		p.wasClean = false
	}
}

func (p *Peer) onServerConnectionDropTimeout() {
	p.dropTimer = nil
	if p.state != StateClosed {
		p.wasClean = false
		p.notCleanReason = "server did not drop TCP connection (in time)"
		p.serverDropTO = true
		p.dropConnection(true)
	}
}

func (p *Peer) onCloseHandshakeTimeout() {
	p.closeHSTimer = nil
	if p.state != StateClosed {
		p.wasClean = false
		p.notCleanReason = "peer did not respond (in time) in closing handshake"
		p.closeTO = true
		p.dropConnection(true)
	}
}

func (p *Peer) protocolViolation(reason string) {
	p.logf("PV", "protocol violation by testee: %s", reason)
	p.Fail(1002, reason)
}

func (p *Peer) invalidPayload(reason string) {
	p.logf("IP", "invalid payload from testee: %s", reason)
	p.Fail(1007, reason)
}
