//go:build !(amd64 || arm64) || purego

package websocket

// There is no vector path here: mask always runs the Go loop.
const (
	haveVector     = false
	maskVectorMin  = maskNoVector
	maskVectorName = "none"
)

// maskVector is maskGo; mask never calls it on these builds.
func maskVector(key uint32, b []byte) uint32 { return maskGo(key, b) }
