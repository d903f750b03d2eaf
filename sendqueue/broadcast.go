package sendqueue

import (
	"context"

	"github.com/wsforge/websocket"
)

// Broadcast queues a message of type typ with payload p on every queue in
// queues and returns how many accepted it. The message is encoded once,
// with [websocket.NewPreparedMessage], and every queue holds the same
// encoded bytes: nothing is copied per queue, and p may be reused as soon
// as Broadcast returns. Broadcast with one queue is how to queue a message
// encoded once rather than copied; nil queues are skipped.
//
// A queue that is full applies its own policy, so a slow connection does
// not hold up the others: queues that drop or close are passed over at
// once, and those with OverflowBlock get the message as soon as each has
// room, until ctx ends; Broadcast returns when all have it, or with ctx's
// error. The queues that did not accept the message report why on their
// next Send; a queue whose Conn has closed says so once the Conn's reading
// goroutine notices. Broadcast returns an error and queues nothing if typ
// is neither MessageText nor MessageBinary.
func Broadcast(ctx context.Context, typ websocket.MessageType, p []byte, queues ...*Queue) (int, error) {
	if typ != websocket.MessageText && typ != websocket.MessageBinary {
		return 0, errMessageType
	}
	if len(queues) == 0 {
		return 0, nil
	}
	pm, err := websocket.NewPreparedMessage(typ, p)
	if err != nil {
		return 0, err
	}
	m := queued{pm: pm, n: len(p), typ: typ}
	sent := 0
	var blocked []*Queue
	for _, q := range queues {
		if q == nil {
			continue
		}
		switch q.enqueue(ctx, m, false, nil) {
		case nil:
			sent++
		case errWouldBlock:
			blocked = append(blocked, q)
		}
	}
	if len(blocked) == 0 {
		return sent, nil
	}
	// Register before each try, so that room appearing in between is not
	// missed, and wait for any of the queues to have room.
	notify := make(chan struct{}, 1)
	for {
		waiting := blocked[:0]
		for _, q := range blocked {
			switch q.enqueue(ctx, m, false, notify) {
			case nil:
				sent++
			case errWouldBlock:
				waiting = append(waiting, q)
			}
		}
		blocked = waiting
		if len(blocked) == 0 {
			return sent, nil
		}
		select {
		case <-notify:
		case <-ctx.Done():
			for _, q := range blocked {
				q.unwait(notify)
			}
			return sent, ctx.Err()
		}
	}
}
