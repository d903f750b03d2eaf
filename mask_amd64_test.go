//go:build amd64 && !purego

package websocket

import (
	"os"
	"strings"
	"testing"
)

// TestMaskAVX2Detected fails when /proc/cpuinfo lists avx2 but the
// package's own CPUID and XGETBV check did not enable the AVX2 path, so
// that the tests and the fuzz run cannot silently miss the assembly.
func TestMaskAVX2Detected(t *testing.T) {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skipf("cannot tell what the CPU has: %v", err)
	}
	listed := false
	for line := range strings.Lines(string(info)) {
		name, flags, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(name) == "flags" {
			listed = false
			for _, f := range strings.Fields(flags) {
				listed = listed || f == "avx2"
			}
			if !listed {
				break // every CPU must have it
			}
		}
	}
	switch {
	case !listed:
		t.Skipf("the CPU has no AVX2 (detected: %v)", haveVector)
	case !haveVector:
		t.Fatalf("/proc/cpuinfo lists avx2 but detectAVX2 says no (CI=%q)", os.Getenv("CI"))
	}
	t.Logf("AVX2 detected, mask uses it from %d bytes", maskVectorMin)
}
