// Package interop holds wsforge's interoperability tests against independent
// WebSocket implementations and the software that sits between a browser and
// a server: Node's ws, Python's websockets, headless Chromium and nginx.
// The tests are all in _test.go files; interop/setup.sh installs the peers,
// and `make interop` runs both. See README.md beside this file.
package interop
