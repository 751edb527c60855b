//go:build amd64 && !purego

#include "textflag.h"

// func cmacAVX2(yr, yi, xr, xi, wr, wi []float32)
// y += x·w (complex, split arrays), len(yr) a multiple of 8.
TEXT ·cmacAVX2(SB), NOSPLIT, $0-144
	MOVQ yr_base+0(FP), DI
	MOVQ yr_len+8(FP), CX
	MOVQ yi_base+24(FP), SI
	MOVQ xr_base+48(FP), DX
	MOVQ xi_base+72(FP), BX
	MOVQ wr_base+96(FP), R8
	MOVQ wi_base+120(FP), R9
	SHLQ $2, CX
	XORQ AX, AX

cmacLoop:
	CMPQ         AX, CX
	JGE          cmacDone
	VMOVUPS      (DX)(AX*1), Y0      // xr
	VMOVUPS      (BX)(AX*1), Y1      // xi
	VMOVUPS      (R8)(AX*1), Y2      // wr
	VMOVUPS      (R9)(AX*1), Y3      // wi
	VMOVUPS      (DI)(AX*1), Y4      // yr
	VMOVUPS      (SI)(AX*1), Y5      // yi
	VFMADD231PS  Y2, Y0, Y4          // yr += xr·wr
	VFNMADD231PS Y3, Y1, Y4          // yr -= xi·wi
	VFMADD231PS  Y3, Y0, Y5          // yi += xr·wi
	VFMADD231PS  Y2, Y1, Y5          // yi += xi·wr
	VMOVUPS      Y4, (DI)(AX*1)
	VMOVUPS      Y5, (SI)(AX*1)
	ADDQ         $32, AX
	JMP          cmacLoop

cmacDone:
	VZEROUPPER
	RET

// func macAVX2(y, a, b []float32)
// y += a·b, len(y) a multiple of 8.
TEXT ·macAVX2(SB), NOSPLIT, $0-72
	MOVQ y_base+0(FP), DI
	MOVQ y_len+8(FP), CX
	MOVQ a_base+24(FP), SI
	MOVQ b_base+48(FP), DX
	SHLQ $2, CX
	XORQ AX, AX

macLoop:
	CMPQ        AX, CX
	JGE         macDone
	VMOVUPS     (SI)(AX*1), Y0
	VMOVUPS     (DI)(AX*1), Y1
	VFMADD231PS (DX)(AX*1), Y0, Y1   // y += a·b
	VMOVUPS     Y1, (DI)(AX*1)
	ADDQ        $32, AX
	JMP         macLoop

macDone:
	VZEROUPPER
	RET

// func kalmanUpdateAVX2(wr, wi, pk, xr, xi, xp, gr, gi, inv []float32, a, q, ceil, h float32)
// kalmanUpdateGo with h = filterShrink/2, len(wr) a multiple of 8:
//	W += P·conj(X)·g
//	P  = min(a·(P - h·P²·inv·|X|²) + q·|W|², ceil)
TEXT ·kalmanUpdateAVX2(SB), NOSPLIT, $0-232
	MOVQ         wr_base+0(FP), DI
	MOVQ         wr_len+8(FP), CX
	MOVQ         wi_base+24(FP), SI
	MOVQ         pk_base+48(FP), DX
	MOVQ         xr_base+72(FP), BX
	MOVQ         xi_base+96(FP), R8
	MOVQ         xp_base+120(FP), R9
	MOVQ         gr_base+144(FP), R10
	MOVQ         gi_base+168(FP), R11
	MOVQ         inv_base+192(FP), R12
	VBROADCASTSS a+216(FP), Y12
	VBROADCASTSS q+220(FP), Y13
	VBROADCASTSS ceil+224(FP), Y14
	VBROADCASTSS h+228(FP), Y15
	SHLQ         $2, CX
	XORQ         AX, AX

kalmanLoop:
	CMPQ         AX, CX
	JGE          kalmanDone
	VMOVUPS      (DX)(AX*1), Y0      // p
	VMOVUPS      (BX)(AX*1), Y1      // xr
	VMOVUPS      (R8)(AX*1), Y2      // xi
	VMOVUPS      (R10)(AX*1), Y3     // gr
	VMOVUPS      (R11)(AX*1), Y4     // gi
	VMULPS       Y3, Y1, Y5
	VFMADD231PS  Y4, Y2, Y5          // ur = xr·gr + xi·gi
	VMULPS       Y4, Y1, Y6
	VFNMADD231PS Y3, Y2, Y6          // ui = xr·gi - xi·gr
	VMOVUPS      (DI)(AX*1), Y7
	VFMADD231PS  Y5, Y0, Y7          // nr = wr + p·ur
	VMOVUPS      (SI)(AX*1), Y8
	VFMADD231PS  Y6, Y0, Y8          // ni = wi + p·ui
	VMOVUPS      Y7, (DI)(AX*1)
	VMOVUPS      Y8, (SI)(AX*1)
	VMULPS       Y0, Y0, Y9          // p²
	VMULPS       (R12)(AX*1), Y9, Y9 // ·inv
	VMULPS       (R9)(AX*1), Y9, Y9  // ·|X|²
	VFNMADD231PS Y15, Y9, Y0         // p - h·p²·inv·|X|²
	VMULPS       Y7, Y7, Y10
	VFMADD231PS  Y8, Y8, Y10         // |W|²
	VMULPS       Y13, Y10, Y10       // q·|W|²
	VFMADD231PS  Y12, Y0, Y10        // + a·(…)
	VMINPS       Y14, Y10, Y10       // min(…, ceil)
	VMOVUPS      Y10, (DX)(AX*1)
	ADDQ         $32, AX
	JMP          kalmanLoop

kalmanDone:
	VZEROUPPER
	RET
