//go:build amd64 && !purego

#include "textflag.h"

// func stageAVX2(re, im, twr, twi []float32, h int)
// One radix-2 stage of the FFT over blocks of 2h (h a multiple of 8):
// t = w·b, b = a - t, a = a + t, for a = x[base+j], b = x[base+h+j] and
// w = twr[j] + i·twi[j].
TEXT ·stageAVX2(SB), NOSPLIT, $0-104
	MOVQ re_base+0(FP), SI
	MOVQ re_len+8(FP), CX
	MOVQ im_base+24(FP), DI
	MOVQ twr_base+48(FP), R8
	MOVQ twi_base+72(FP), R9
	MOVQ h+96(FP), R10
	SHLQ $2, R10             // h in bytes
	SHLQ $2, CX              // length in bytes
	XORQ R11, R11            // block offset in bytes

block:
	CMPQ R11, CX
	JGE  stageDone
	LEAQ (SI)(R11*1), R12    // a, real
	LEAQ (DI)(R11*1), R13    // a, imaginary
	LEAQ (R12)(R10*1), BX    // b, real
	LEAQ (R13)(R10*1), DX    // b, imaginary
	XORQ AX, AX

butterfly:
	VMOVUPS      (R8)(AX*1), Y0
	VMOVUPS      (R9)(AX*1), Y1
	VMOVUPS      (BX)(AX*1), Y2
	VMOVUPS      (DX)(AX*1), Y3
	VMULPS       Y2, Y0, Y4
	VFNMADD231PS Y3, Y1, Y4  // tr = wr·br - wi·bi
	VMULPS       Y3, Y0, Y5
	VFMADD231PS  Y2, Y1, Y5  // ti = wr·bi + wi·br
	VMOVUPS      (R12)(AX*1), Y6
	VMOVUPS      (R13)(AX*1), Y7
	VSUBPS       Y4, Y6, Y8
	VSUBPS       Y5, Y7, Y9
	VADDPS       Y4, Y6, Y6
	VADDPS       Y5, Y7, Y7
	VMOVUPS      Y8, (BX)(AX*1)
	VMOVUPS      Y9, (DX)(AX*1)
	VMOVUPS      Y6, (R12)(AX*1)
	VMOVUPS      Y7, (R13)(AX*1)
	ADDQ         $32, AX
	CMPQ         AX, R10
	JL           butterfly
	LEAQ         (R11)(R10*2), R11
	JMP          block

stageDone:
	VZEROUPPER
	RET
