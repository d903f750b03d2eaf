//go:build amd64 && !purego

#include "textflag.h"

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// func maskAVX2(key uint32, b []byte) uint32
//
// AX holds the key, R8 the key twice over, Y0 the key eight times over.
// Whole 32-byte blocks go through YMM registers, 128 bytes an iteration
// in the main loop, then one block at a time; the rest goes 8 bytes, then
// 4 bytes at a time through R8 and AX. Every step so far is a multiple of
// four bytes, so the key's phase has not moved; the last 0 to 3 bytes go
// one at a time, rotating AX right by a byte after each, so that its low
// byte always masks the next byte. Blocks of 256 bytes and more are
// first brought to a 32-byte boundary, which keeps the loads and stores
// of the loops from straddling cache lines.
TEXT ·maskAVX2(SB), NOSPLIT, $0-36
	MOVL key+0(FP), AX
	MOVQ b_base+8(FP), DI
	MOVQ b_len+16(FP), CX
	CMPQ CX, $32
	JB   tail

	VMOVD        AX, X0
	VPBROADCASTD X0, Y0
	CMPQ         CX, $256
	JB           blocks

	// A long buffer that does not start on a 32-byte boundary: mask the
	// first 32 bytes unaligned and the 32 bytes at the first boundary,
	// p bytes in, with the key rotated by p bytes. Both blocks come from
	// the original data before either is stored, so the bytes they share
	// get the same value twice. Then go on from p+32, aligned.
	MOVQ         DI, DX
	NEGQ         DX
	ANDQ         $31, DX
	JZ           blocks
	VPXOR        (DI), Y0, Y1
	MOVL         AX, R8
	SHLQ         $32, R8
	ORQ          AX, R8
	MOVQ         CX, R9
	MOVQ         DX, CX
	ANDQ         $3, CX
	SHLQ         $3, CX
	SHRQ         CX, R8
	MOVQ         R9, CX
	MOVL         R8, AX
	VMOVD        AX, X0
	VPBROADCASTD X0, Y0
	VPXOR        (DI)(DX*1), Y0, Y2
	VMOVDQU      Y1, (DI)
	VMOVDQU      Y2, (DI)(DX*1)
	LEAQ         32(DI)(DX*1), DI
	SUBQ         DX, CX
	SUBQ         $32, CX

blocks:
	CMPQ CX, $128
	JB   loop32

loop128:
	VPXOR   (DI), Y0, Y1
	VPXOR   32(DI), Y0, Y2
	VPXOR   64(DI), Y0, Y3
	VPXOR   96(DI), Y0, Y4
	VMOVDQU Y1, (DI)
	VMOVDQU Y2, 32(DI)
	VMOVDQU Y3, 64(DI)
	VMOVDQU Y4, 96(DI)
	ADDQ    $128, DI
	SUBQ    $128, CX
	CMPQ    CX, $128
	JAE     loop128
	CMPQ    CX, $32
	JB      vdone

loop32:
	VPXOR   (DI), Y0, Y1
	VMOVDQU Y1, (DI)
	ADDQ    $32, DI
	SUBQ    $32, CX
	CMPQ    CX, $32
	JAE     loop32

vdone:
	VZEROUPPER

tail:
	MOVL AX, R8
	SHLQ $32, R8
	ORQ  AX, R8
	CMPQ CX, $8
	JB   tail4

loop8:
	XORQ R8, (DI)
	ADDQ $8, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  loop8

tail4:
	CMPQ CX, $4
	JB   tail1
	XORL AX, (DI)
	ADDQ $4, DI
	SUBQ $4, CX

tail1:
	TESTQ CX, CX
	JZ    done

loop1:
	XORB AL, (DI)
	RORL $8, AX
	INCQ DI
	DECQ CX
	JNZ  loop1

done:
	MOVL AX, ret+32(FP)
	RET
