package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsforge/websocket/examples/chat/chat"
)

// channelPrefix names the Redis channel of each room: chat:room:NAME.
const channelPrefix = "chat:room:"

// RedisRelay carries chat events between the nodes through Redis pub/sub:
// each node publishes its clients' events on the room's channel and
// delivers to its own clients every event published on any room's channel,
// its own included, so that all nodes see the same events in the same
// order.
type RedisRelay struct {
	rdb *redis.Client
}

// Publish publishes ev on its room's channel.
func (r *RedisRelay) Publish(ctx context.Context, ev chat.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return r.rdb.Publish(ctx, channelPrefix+ev.Room, b).Err()
}

// Subscribe subscribes to every room's channel and returns once Redis has
// confirmed it (waiting at most 10 s), so that no event published
// afterwards is missed. It then delivers the events to s until ctx ends;
// the returned function waits for that.
func (r *RedisRelay) Subscribe(ctx context.Context, s *chat.Server) (wait func(), err error) {
	sub := r.rdb.PSubscribe(ctx, channelPrefix+"*")
	if _, err := sub.ReceiveTimeout(ctx, 10*time.Second); err != nil { // the confirmation
		sub.Close()
		return nil, fmt.Errorf("subscribing to %s*: %w", channelPrefix, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sub.Close()
		msgs := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-msgs:
				if !ok {
					return
				}
				var ev chat.Event
				if json.Unmarshal([]byte(m.Payload), &ev) == nil {
					s.Deliver(ctx, ev)
				}
			}
		}
	}()
	return func() { <-done }, nil
}
