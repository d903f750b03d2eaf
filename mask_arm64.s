//go:build arm64 && !purego

#include "textflag.h"

// func maskNEON(key uint32, b []byte) uint32
//
// R2 holds the key, R3 the key twice over, V4 the key four times over.
// Whole 16-byte blocks go through V registers, 64 bytes an iteration in
// the main loop, then one block at a time; the rest goes 8 bytes, then 4
// bytes at a time through R3 and R2. Every step so far is a multiple of
// four bytes, so the key's phase has not moved; the last 0 to 3 bytes go
// one at a time, rotating R2 right by a byte after each, so that its low
// byte always masks the next byte.
TEXT ·maskNEON(SB), NOSPLIT, $0-36
	MOVWU key+0(FP), R2
	MOVD  b_base+8(FP), R0
	MOVD  b_len+16(FP), R1
	CMP   $16, R1
	BLO   tail
	VDUP  R2, V4.S4
	CMP   $64, R1
	BLO   loop16

loop64:
	VLD1   (R0), [V0.B16, V1.B16, V2.B16, V3.B16]
	VEOR   V0.B16, V4.B16, V0.B16
	VEOR   V1.B16, V4.B16, V1.B16
	VEOR   V2.B16, V4.B16, V2.B16
	VEOR   V3.B16, V4.B16, V3.B16
	VST1.P [V0.B16, V1.B16, V2.B16, V3.B16], 64(R0)
	SUB    $64, R1
	CMP    $64, R1
	BHS    loop64
	CMP    $16, R1
	BLO    tail

loop16:
	VLD1   (R0), [V0.B16]
	VEOR   V0.B16, V4.B16, V0.B16
	VST1.P [V0.B16], 16(R0)
	SUB    $16, R1
	CMP    $16, R1
	BHS    loop16

tail:
	ORR R2<<32, R2, R3
	CMP $8, R1
	BLO tail4

loop8:
	MOVD   (R0), R4
	EOR    R3, R4
	MOVD.P R4, 8(R0)
	SUB    $8, R1
	CMP    $8, R1
	BHS    loop8

tail4:
	CMP    $4, R1
	BLO    tail1
	MOVWU  (R0), R4
	EORW   R2, R4
	MOVW.P R4, 4(R0)
	SUB    $4, R1

tail1:
	CBZ R1, done

loop1:
	MOVBU  (R0), R4
	EORW   R2, R4
	MOVB.P R4, 1(R0)
	RORW   $8, R2
	SUB    $1, R1
	CBNZ   R1, loop1

done:
	MOVW R2, ret+32(FP)
	RET
