module github.com/wsforge/websocket/interop

go 1.25.0

require github.com/wsforge/websocket v0.0.0

require (
	golang.org/x/net v0.58.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

replace github.com/wsforge/websocket => ../
