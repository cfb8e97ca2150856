//go:build amd64 && !noasm

#include "textflag.h"

// func sgemm6x16(kc int, pa, pb, c *float32, ldc int, accumulate bool)
//
// Twelve YMM accumulators hold the 6×16 tile; each step loads one row of
// the B panel (two YMM), broadcasts each of the six A values in turn and
// fuses the multiply-adds.
TEXT ·sgemm6x16(SB), NOSPLIT, $0-41
	MOVQ kc+0(FP), CX
	MOVQ pa+8(FP), SI
	MOVQ pb+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	MOVBLZX accumulate+40(FP), R9

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	TESTQ CX, CX
	JEQ   store

loop:
	VMOVUPS      (DI), Y12
	VMOVUPS      32(DI), Y13
	VBROADCASTSS (SI), Y14
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VBROADCASTSS 4(SI), Y14
	VFMADD231PS  Y12, Y14, Y2
	VFMADD231PS  Y13, Y14, Y3
	VBROADCASTSS 8(SI), Y14
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VBROADCASTSS 12(SI), Y14
	VFMADD231PS  Y12, Y14, Y6
	VFMADD231PS  Y13, Y14, Y7
	VBROADCASTSS 16(SI), Y14
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VBROADCASTSS 20(SI), Y14
	VFMADD231PS  Y12, Y14, Y10
	VFMADD231PS  Y13, Y14, Y11
	ADDQ         $24, SI
	ADDQ         $64, DI
	DECQ         CX
	JNE          loop

store:
	TESTQ R9, R9
	JEQ   overwrite
	VADDPS (DX), Y0, Y0
	VADDPS 32(DX), Y1, Y1
	ADDQ   R8, DX
	VADDPS (DX), Y2, Y2
	VADDPS 32(DX), Y3, Y3
	ADDQ   R8, DX
	VADDPS (DX), Y4, Y4
	VADDPS 32(DX), Y5, Y5
	ADDQ   R8, DX
	VADDPS (DX), Y6, Y6
	VADDPS 32(DX), Y7, Y7
	ADDQ   R8, DX
	VADDPS (DX), Y8, Y8
	VADDPS 32(DX), Y9, Y9
	ADDQ   R8, DX
	VADDPS (DX), Y10, Y10
	VADDPS 32(DX), Y11, Y11
	MOVQ   c+24(FP), DX

overwrite:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y2, (DX)
	VMOVUPS Y3, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	VZEROUPPER
	RET

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

// func fmaVV(dst, a, b *float32, n int)
//
// dst[i] += a[i] * b[i] for i < n, eight lanes at a time.
TEXT ·fmaVV(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX

loop8:
	CMPQ        CX, $8
	JLT         tail
	VMOVUPS     (SI), Y0
	VMOVUPS     (DX), Y1
	VMOVUPS     (DI), Y2
	VFMADD231PS Y0, Y1, Y2
	VMOVUPS     Y2, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         loop8

tail:
	TESTQ       CX, CX
	JEQ         done
	VMOVSS      (SI), X0
	VMOVSS      (DX), X1
	VMOVSS      (DI), X2
	VFMADD231SS X0, X1, X2
	VMOVSS      X2, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DX
	ADDQ        $4, DI
	DECQ        CX
	JMP         tail

done:
	VZEROUPPER
	RET

// func maxVV(dst, src *float32, n int)
//
// dst[i] = src[i] if src[i] > dst[i], else dst[i], for i < n. MAXPS
// returns its second source when either is NaN or both are zeros, which is
// exactly that comparison with dst as the second source.
TEXT ·maxVV(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

max8:
	CMPQ    CX, $8
	JLT     maxtail
	VMOVUPS (SI), Y0
	VMOVUPS (DI), Y1
	VMAXPS  Y1, Y0, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     max8

maxtail:
	TESTQ  CX, CX
	JEQ    maxdone
	VMOVSS (SI), X0
	VMOVSS (DI), X1
	VMAXSS X1, X0, X2
	VMOVSS X2, (DI)
	ADDQ   $4, SI
	ADDQ   $4, DI
	DECQ   CX
	JMP    maxtail

maxdone:
	VZEROUPPER
	RET

// func biasReluVV(dst, bias *float32, n int, relu bool)
//
// dst[i] += bias[i] for i < n, then, with relu, dst[i] = max(dst[i], 0) as
// Go's max computes it: MAXPS with the zero first keeps a NaN, and adding
// +0 afterwards turns a -0 into +0.
TEXT ·biasReluVV(SB), NOSPLIT, $0-25
	MOVQ   dst+0(FP), DI
	MOVQ   bias+8(FP), SI
	MOVQ   n+16(FP), CX
	MOVBLZX relu+24(FP), DX
	VXORPS Y3, Y3, Y3

br8:
	CMPQ    CX, $8
	JLT     brtail
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	TESTQ   DX, DX
	JEQ     br8store
	VMAXPS  Y0, Y3, Y0
	VADDPS  Y3, Y0, Y0

br8store:
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     br8

brtail:
	TESTQ  CX, CX
	JEQ    brdone
	VMOVSS (DI), X0
	VADDSS (SI), X0, X0
	TESTQ  DX, DX
	JEQ    brstore1
	VMAXSS X0, X3, X0
	VADDSS X3, X0, X0

brstore1:
	VMOVSS X0, (DI)
	ADDQ   $4, SI
	ADDQ   $4, DI
	DECQ   CX
	JMP    brtail

brdone:
	VZEROUPPER
	RET

// func maxPoolPixels(dst, src *float32, c, npix, dstStep, srcStep int, offs *int, noffs int)
//
// For each of npix pixels, dst[ch] = the running 'if v > d { d = v }'
// from d = -Inf over src[offs[t]+ch] for t < noffs, for ch < c; then dst
// moves on by dstStep and src by srcStep elements. MAXPS with the window
// value first and the running maximum second is exactly that comparison
// (a NaN, or an equal zero, keeps the running maximum).
TEXT ·maxPoolPixels(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ npix+24(FP), R8
	MOVQ dstStep+32(FP), R9
	SHLQ $2, R9
	MOVQ srcStep+40(FP), R10
	SHLQ $2, R10
	MOVL $0xff800000, AX
	MOVQ AX, X15
	VBROADCASTSS X15, Y15

mpPix:
	TESTQ R8, R8
	JEQ   mpDone
	XORQ  BX, BX // channel offset in bytes
	MOVQ  c+16(FP), CX

mpCh8:
	CMPQ CX, $8
	JLT  mpCh1
	VMOVAPS Y15, Y0
	MOVQ offs+48(FP), DX
	MOVQ noffs+56(FP), R11

mpTap8:
	MOVQ    (DX), R12
	LEAQ    (SI)(R12*4), R12
	VMOVUPS (R12)(BX*1), Y1
	VMAXPS  Y0, Y1, Y0
	ADDQ    $8, DX
	DECQ    R11
	JNE     mpTap8
	VMOVUPS Y0, (DI)(BX*1)
	ADDQ    $32, BX
	SUBQ    $8, CX
	JMP     mpCh8

mpCh1:
	TESTQ CX, CX
	JEQ   mpNext
	VMOVAPS X15, X0
	MOVQ offs+48(FP), DX
	MOVQ noffs+56(FP), R11

mpTap1:
	MOVQ   (DX), R12
	LEAQ   (SI)(R12*4), R12
	VMOVSS (R12)(BX*1), X1
	VMAXSS X0, X1, X0
	ADDQ   $8, DX
	DECQ   R11
	JNE    mpTap1
	VMOVSS X0, (DI)(BX*1)
	ADDQ   $4, BX
	DECQ   CX
	JMP    mpCh1

mpNext:
	ADDQ R9, DI
	ADDQ R10, SI
	DECQ R8
	JMP  mpPix

mpDone:
	VZEROUPPER
	RET

// func maxNaNVV(dst, src *float32, n int)
//
// dst[i] = src[i] where src[i] > dst[i] or src[i] is NaN, for i < n: the
// running maximum of a Max reduction, which a NaN takes over and keeps.
// MAXPS with src first keeps dst on a NaN in either; the blend then puts
// a NaN of src in.
TEXT ·maxNaNVV(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

mn8:
	CMPQ      CX, $8
	JLT       mntail
	VMOVUPS   (SI), Y0
	VMOVUPS   (DI), Y1
	VMAXPS    Y1, Y0, Y2
	VCMPPS    $3, Y0, Y0, Y3
	VBLENDVPS Y3, Y0, Y2, Y2
	VMOVUPS   Y2, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JMP       mn8

mntail:
	TESTQ     CX, CX
	JEQ       mndone
	VMOVSS    (SI), X0
	VMOVSS    (DI), X1
	VMAXSS    X1, X0, X2
	VCMPSS    $3, X0, X0, X3
	VBLENDVPS X3, X0, X2, X2
	VMOVSS    X2, (DI)
	ADDQ      $4, SI
	ADDQ      $4, DI
	DECQ      CX
	JMP       mntail

mndone:
	VZEROUPPER
	RET

// func sgemv(k int, a, b *float32, ldb int, c *float32, n int)
//
// c[j] = Σ_p a[p]·b[p·ldb+j] for j < n, summed in order of p: a row of A
// times B, read row by row, 64 columns (eight accumulators) at a time,
// then 8, then 1.
TEXT ·sgemv(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), R8
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R9
	SHLQ $2, R9
	MOVQ c+32(FP), DX
	MOVQ n+40(FP), CX

gv64:
	CMPQ   CX, $64
	JLT    gv8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   SI, R10
	MOVQ   DI, R11
	MOVQ   R8, R12
	TESTQ  R12, R12
	JEQ    gv64store

gv64loop:
	VBROADCASTSS (R10), Y8
	VFMADD231PS  (R11), Y8, Y0
	VFMADD231PS  32(R11), Y8, Y1
	VFMADD231PS  64(R11), Y8, Y2
	VFMADD231PS  96(R11), Y8, Y3
	VFMADD231PS  128(R11), Y8, Y4
	VFMADD231PS  160(R11), Y8, Y5
	VFMADD231PS  192(R11), Y8, Y6
	VFMADD231PS  224(R11), Y8, Y7
	ADDQ         $4, R10
	ADDQ         R9, R11
	DECQ         R12
	JNE          gv64loop

gv64store:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	VMOVUPS Y4, 128(DX)
	VMOVUPS Y5, 160(DX)
	VMOVUPS Y6, 192(DX)
	VMOVUPS Y7, 224(DX)
	ADDQ    $256, DI
	ADDQ    $256, DX
	SUBQ    $64, CX
	JMP     gv64

gv8:
	CMPQ   CX, $8
	JLT    gv1
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   SI, R10
	MOVQ   DI, R11
	MOVQ   R8, R12
	TESTQ  R12, R12
	JEQ    gv8store

gv8loop:
	VBROADCASTSS (R10), Y8
	VFMADD231PS  (R11), Y8, Y0
	ADDQ         $4, R10
	ADDQ         R9, R11
	DECQ         R12
	JNE          gv8loop

gv8store:
	VMOVUPS Y0, (DX)
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     gv8

gv1:
	TESTQ  CX, CX
	JEQ    gvdone
	VXORPS X0, X0, X0
	MOVQ   SI, R10
	MOVQ   DI, R11
	MOVQ   R8, R12
	TESTQ  R12, R12
	JEQ    gv1store

gv1loop:
	VMOVSS      (R10), X8
	VFMADD231SS (R11), X8, X0
	ADDQ        $4, R10
	ADDQ        R9, R11
	DECQ        R12
	JNE         gv1loop

gv1store:
	VMOVSS X0, (DX)
	ADDQ   $4, DI
	ADDQ   $4, DX
	DECQ   CX
	JMP    gv1

gvdone:
	VZEROUPPER
	RET
