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
