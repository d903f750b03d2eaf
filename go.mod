module github.com/wsforge/websocket

go 1.25
