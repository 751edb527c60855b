//go:build amd64 && !purego

#include "textflag.h"

// func matVecAVX2(y, w, x []float32, k, ws int)
// y[r] = dot(w[r*ws:r*ws+k], x[:k]) for r < len(y); four rows per pass with
// two 8-wide accumulators each, 16 floats of x per step.
TEXT ·matVecAVX2(SB), NOSPLIT, $0-88
	MOVQ y_base+0(FP), DI
	MOVQ y_len+8(FP), CX
	MOVQ w_base+24(FP), SI
	MOVQ x_base+48(FP), DX
	MOVQ k+72(FP), R9
	SHLQ $2, R9              // dot length in bytes
	MOVQ ws+80(FP), R8
	SHLQ $2, R8              // row stride in bytes

rows:
	CMPQ CX, $4
	JL   done
	MOVQ SI, R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX

inner:
	VMOVUPS     (DX)(AX*1), Y8
	VMOVUPS     32(DX)(AX*1), Y9
	VFMADD231PS (R10)(AX*1), Y8, Y0
	VFMADD231PS 32(R10)(AX*1), Y9, Y1
	VFMADD231PS (R11)(AX*1), Y8, Y2
	VFMADD231PS 32(R11)(AX*1), Y9, Y3
	VFMADD231PS (R12)(AX*1), Y8, Y4
	VFMADD231PS 32(R12)(AX*1), Y9, Y5
	VFMADD231PS (R13)(AX*1), Y8, Y6
	VFMADD231PS 32(R13)(AX*1), Y9, Y7
	ADDQ $64, AX
	CMPQ AX, R9
	JL   inner

	// Reduce the four rows' accumulators to four sums.
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y5, Y4, Y4
	VADDPS       Y7, Y6, Y6
	VHADDPS      Y2, Y0, Y0
	VHADDPS      Y6, Y4, Y4
	VHADDPS      Y4, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DI)
	ADDQ         $16, DI
	LEAQ         (R13)(R8*1), SI
	SUBQ         $4, CX
	JMP          rows

done:
	VZEROUPPER
	RET

// func matVec4AVX2(y, w, x []float32, k, ws, xs, ys, rows int)
// y[t*ys+r] = dot(w[r*ws:r*ws+k], x[t*xs:t*xs+k]) for t < 4 and r < rows
// (even): two rows per pass against four vectors, so each weight loaded
// serves four products.
TEXT ·matVec4AVX2(SB), NOSPLIT, $0-112
	MOVQ y_base+0(FP), DI
	MOVQ w_base+24(FP), SI
	MOVQ x_base+48(FP), DX
	MOVQ k+72(FP), R9
	SHLQ $2, R9              // dot length in bytes
	MOVQ ws+80(FP), R8
	SHLQ $2, R8              // weight row stride in bytes
	MOVQ xs+88(FP), AX
	SHLQ $2, AX
	LEAQ (DX)(AX*1), BX      // x vector 1
	LEAQ (BX)(AX*1), R12     // x vector 2
	LEAQ (R12)(AX*1), R13    // x vector 3
	MOVQ rows+104(FP), CX

pairs:
	CMPQ CX, $2
	JL   done4
	MOVQ SI, R10
	LEAQ (SI)(R8*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX

inner4:
	VMOVUPS     (R10)(AX*1), Y12
	VMOVUPS     (R11)(AX*1), Y13
	VMOVUPS     (DX)(AX*1), Y8
	VFMADD231PS Y8, Y12, Y0
	VFMADD231PS Y8, Y13, Y4
	VMOVUPS     (BX)(AX*1), Y9
	VFMADD231PS Y9, Y12, Y1
	VFMADD231PS Y9, Y13, Y5
	VMOVUPS     (R12)(AX*1), Y10
	VFMADD231PS Y10, Y12, Y2
	VFMADD231PS Y10, Y13, Y6
	VMOVUPS     (R13)(AX*1), Y11
	VFMADD231PS Y11, Y12, Y3
	VFMADD231PS Y11, Y13, Y7
	ADDQ        $32, AX
	CMPQ        AX, R9
	JL          inner4

	// Row r: Y0..Y3 -> X0 = [t0 t1 t2 t3]; row r+1: Y4..Y7 -> X4.
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      Y5, Y4, Y4
	VHADDPS      Y7, Y6, Y6
	VHADDPS      Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPS       X5, X4, X4

	MOVQ       ys+96(FP), AX
	SHLQ       $2, AX
	LEAQ       (DI)(AX*2), R10
	VMOVSS     X0, (DI)
	VEXTRACTPS $1, X0, (DI)(AX*1)
	VEXTRACTPS $2, X0, (R10)
	VEXTRACTPS $3, X0, (R10)(AX*1)
	VMOVSS     X4, 4(DI)
	VEXTRACTPS $1, X4, 4(DI)(AX*1)
	VEXTRACTPS $2, X4, 4(R10)
	VEXTRACTPS $3, X4, 4(R10)(AX*1)

	ADDQ $8, DI
	LEAQ (SI)(R8*2), SI
	SUBQ $2, CX
	JMP  pairs

done4:
	VZEROUPPER
	RET

// Constants of expAVX2, the same as those of expf.
DATA expc<>+0(SB)/4, $0xc2ae0000  // -87
DATA expc<>+4(SB)/4, $0x42b00000  // 88
DATA expc<>+8(SB)/4, $0x3fb8aa3b  // log2(e)
DATA expc<>+12(SB)/4, $0x3f318000 // ln2 high part
DATA expc<>+16(SB)/4, $0xb95e8083 // ln2 low part
DATA expc<>+20(SB)/4, $0x3ab60b61 // 1/720
DATA expc<>+24(SB)/4, $0x3c088889 // 1/120
DATA expc<>+28(SB)/4, $0x3d2aaaab // 1/24
DATA expc<>+32(SB)/4, $0x3e2aaaab // 1/6
DATA expc<>+36(SB)/4, $0x3f000000 // 1/2
DATA expc<>+40(SB)/4, $0x3f800000 // 1
DATA expc<>+44(SB)/4, $0x0000007f // exponent bias 127
GLOBL expc<>(SB), RODATA|NOPTR, $48

// func expAVX2(x []float32)
// x[i] = e^x[i] in place, eight at a time (len(x) a multiple of 8): the
// same range reduction and polynomial as expf, rounding n to nearest.
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ         x_base+0(FP), SI
	MOVQ         x_len+8(FP), CX
	VBROADCASTSS expc<>+0(SB), Y4
	VBROADCASTSS expc<>+4(SB), Y5
	VBROADCASTSS expc<>+8(SB), Y6
	VBROADCASTSS expc<>+12(SB), Y7
	VBROADCASTSS expc<>+16(SB), Y8
	VBROADCASTSS expc<>+20(SB), Y9
	VBROADCASTSS expc<>+24(SB), Y10
	VBROADCASTSS expc<>+28(SB), Y11
	VBROADCASTSS expc<>+32(SB), Y12
	VBROADCASTSS expc<>+36(SB), Y13
	VBROADCASTSS expc<>+40(SB), Y14
	VPBROADCASTD expc<>+44(SB), Y15

expLoop:
	CMPQ         CX, $8
	JL           expDone
	VMOVUPS      (SI), Y0
	VMAXPS       Y4, Y0, Y0
	VMINPS       Y5, Y0, Y0
	VMULPS       Y6, Y0, Y1
	VROUNDPS     $0, Y1, Y1      // n = round(x·log2 e)
	VFNMADD231PS Y7, Y1, Y0      // r = x - n·ln2hi
	VFNMADD231PS Y8, Y1, Y0      //     - n·ln2lo
	VMOVAPS      Y9, Y2
	VFMADD213PS  Y10, Y0, Y2     // p = p·r + 1/120
	VFMADD213PS  Y11, Y0, Y2
	VFMADD213PS  Y12, Y0, Y2
	VFMADD213PS  Y13, Y0, Y2
	VFMADD213PS  Y14, Y0, Y2
	VFMADD213PS  Y14, Y0, Y2     // p = p·r + 1
	VCVTPS2DQ    Y1, Y1
	VPADDD       Y15, Y1, Y1
	VPSLLD       $23, Y1, Y1     // 2^n
	VMULPS       Y1, Y2, Y2
	VMOVUPS      Y2, (SI)
	ADDQ         $32, SI
	SUBQ         $8, CX
	JMP          expLoop

expDone:
	VZEROUPPER
	RET
