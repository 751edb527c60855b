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
