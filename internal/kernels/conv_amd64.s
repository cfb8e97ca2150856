//go:build amd64 && !noasm

#include "textflag.h"

// The direct-convolution micro-kernels compute a tile of 12 output pixels
// by 32 (or 16) output channels with AVX-512. A is not packed: row i of
// segment s starts at a + offs[s] + i*lda (in elements), which for a
// stride-1 convolution over NHWC is the image itself, and the segments
// are the kernel rows. B is read row by row, ldb elements apart, through
// all segments in turn. The tile is finished in registers: plus bias
// (flags bit 0), then max(x, 0) (flags bit 1), before it is stored.
// Then, ntiles times in all, the same is done again with a and c moved on
// by strideA and strideC elements: a run of tiles along the image in one
// call.
//
// Registers: AX the base of A, BX the segments left, CX the steps left in
// a segment, DX the next offset, SI rows 0-5 and R11 rows 6-11 of A, DI
// the row of B, R8 = lda, R9 = 3·lda, R10 = 5·lda, R12 = ldb (bytes).

// BCAST2 broadcasts one A value and adds its products with the two B
// vectors (Z24, Z25) to the accumulators lo and hi.
#define BCAST2(addr, lo, hi) \
	VBROADCASTSS addr, Z26; \
	VFMADD231PS  Z24, Z26, lo; \
	VFMADD231PS  Z25, Z26, hi

// BCAST1 adds the product of one broadcast A value and the B vector Z24
// to acc.
#define BCAST1(addr, acc) \
	VFMADD231PS.BCST addr, Z24, acc

// RELU is max(x, 0) as Go computes it: MAXPS with the zero first keeps a
// NaN, and adding +0 turns -0 into +0. Z27 holds zero.
#define RELU(z) \
	VMAXPS z, Z27, z; \
	VADDPS Z27, z, z

#define SETUP \
	MOVQ nseg+0(FP), BX; \
	MOVQ a+16(FP), AX; \
	MOVQ lda+24(FP), R8; \
	SHLQ $2, R8; \
	LEAQ (R8)(R8*2), R9; \
	LEAQ (R8)(R8*4), R10; \
	MOVQ offs+32(FP), DX; \
	MOVQ pb+40(FP), DI; \
	MOVQ ldb+48(FP), R12; \
	SHLQ $2, R12

#define NEXTSEG \
	MOVQ (DX), SI; \
	SHLQ $2, SI; \
	ADDQ AX, SI; \
	LEAQ (SI)(R9*2), R11; \
	MOVQ kseg+8(FP), CX

// func sconv12x32(nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags, ntiles, strideA, strideC, segs int)
TEXT ·sconv12x32(SB), NOSPLIT, $0-120

tile32:
	SETUP
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

seg32:
	NEXTSEG

k32:
	VMOVUPS (DI), Z24
	VMOVUPS 64(DI), Z25
	BCAST2((SI), Z0, Z1)
	BCAST2((SI)(R8*1), Z2, Z3)
	BCAST2((SI)(R8*2), Z4, Z5)
	BCAST2((SI)(R9*1), Z6, Z7)
	BCAST2((SI)(R8*4), Z8, Z9)
	BCAST2((SI)(R10*1), Z10, Z11)
	BCAST2((R11), Z12, Z13)
	BCAST2((R11)(R8*1), Z14, Z15)
	BCAST2((R11)(R8*2), Z16, Z17)
	BCAST2((R11)(R9*1), Z18, Z19)
	BCAST2((R11)(R8*4), Z20, Z21)
	BCAST2((R11)(R10*1), Z22, Z23)
	ADDQ $4, SI
	ADDQ $4, R11
	ADDQ R12, DI
	DECQ CX
	JNE  k32
	ADDQ $8, DX
	DECQ BX
	JNE  seg32

	MOVQ flags+80(FP), CX
	TESTQ $1, CX
	JEQ   relu32
	MOVQ  bias+72(FP), SI
	VMOVUPS (SI), Z24
	VMOVUPS 64(SI), Z25
	VADDPS Z24, Z0, Z0
	VADDPS Z25, Z1, Z1
	VADDPS Z24, Z2, Z2
	VADDPS Z25, Z3, Z3
	VADDPS Z24, Z4, Z4
	VADDPS Z25, Z5, Z5
	VADDPS Z24, Z6, Z6
	VADDPS Z25, Z7, Z7
	VADDPS Z24, Z8, Z8
	VADDPS Z25, Z9, Z9
	VADDPS Z24, Z10, Z10
	VADDPS Z25, Z11, Z11
	VADDPS Z24, Z12, Z12
	VADDPS Z25, Z13, Z13
	VADDPS Z24, Z14, Z14
	VADDPS Z25, Z15, Z15
	VADDPS Z24, Z16, Z16
	VADDPS Z25, Z17, Z17
	VADDPS Z24, Z18, Z18
	VADDPS Z25, Z19, Z19
	VADDPS Z24, Z20, Z20
	VADDPS Z25, Z21, Z21
	VADDPS Z24, Z22, Z22
	VADDPS Z25, Z23, Z23

relu32:
	TESTQ $2, CX
	JEQ   store32
	VPXORD Z27, Z27, Z27
	RELU(Z0)
	RELU(Z1)
	RELU(Z2)
	RELU(Z3)
	RELU(Z4)
	RELU(Z5)
	RELU(Z6)
	RELU(Z7)
	RELU(Z8)
	RELU(Z9)
	RELU(Z10)
	RELU(Z11)
	RELU(Z12)
	RELU(Z13)
	RELU(Z14)
	RELU(Z15)
	RELU(Z16)
	RELU(Z17)
	RELU(Z18)
	RELU(Z19)
	RELU(Z20)
	RELU(Z21)
	RELU(Z22)
	RELU(Z23)

store32:
	MOVQ c+56(FP), DX
	MOVQ ldc+64(FP), R8
	SHLQ $2, R8
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z2, (DX)
	VMOVUPS Z3, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z4, (DX)
	VMOVUPS Z5, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z6, (DX)
	VMOVUPS Z7, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z8, (DX)
	VMOVUPS Z9, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z10, (DX)
	VMOVUPS Z11, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z12, (DX)
	VMOVUPS Z13, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z14, (DX)
	VMOVUPS Z15, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z16, (DX)
	VMOVUPS Z17, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z18, (DX)
	VMOVUPS Z19, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z20, (DX)
	VMOVUPS Z21, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z22, (DX)
	VMOVUPS Z23, 64(DX)
	DECQ ntiles+88(FP)
	JEQ  done32
	MOVQ strideA+96(FP), R13
	SHLQ $2, R13
	ADDQ R13, a+16(FP)
	MOVQ strideC+104(FP), R13
	SHLQ $2, R13
	ADDQ R13, c+56(FP)
	JMP  tile32

done32:
	VZEROUPPER
	RET

// func sconv12x16(nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags, ntiles, strideA, strideC, segs int)
TEXT ·sconv12x16(SB), NOSPLIT, $0-120

tile16:
	SETUP
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

seg16:
	NEXTSEG

k16:
	VMOVUPS (DI), Z24
	BCAST1((SI), Z0)
	BCAST1((SI)(R8*1), Z1)
	BCAST1((SI)(R8*2), Z2)
	BCAST1((SI)(R9*1), Z3)
	BCAST1((SI)(R8*4), Z4)
	BCAST1((SI)(R10*1), Z5)
	BCAST1((R11), Z6)
	BCAST1((R11)(R8*1), Z7)
	BCAST1((R11)(R8*2), Z8)
	BCAST1((R11)(R9*1), Z9)
	BCAST1((R11)(R8*4), Z10)
	BCAST1((R11)(R10*1), Z11)
	ADDQ $4, SI
	ADDQ $4, R11
	ADDQ R12, DI
	DECQ CX
	JNE  k16
	ADDQ $8, DX
	DECQ BX
	JNE  seg16

	MOVQ flags+80(FP), CX
	TESTQ $1, CX
	JEQ   relu16
	MOVQ  bias+72(FP), SI
	VMOVUPS (SI), Z24
	VADDPS Z24, Z0, Z0
	VADDPS Z24, Z1, Z1
	VADDPS Z24, Z2, Z2
	VADDPS Z24, Z3, Z3
	VADDPS Z24, Z4, Z4
	VADDPS Z24, Z5, Z5
	VADDPS Z24, Z6, Z6
	VADDPS Z24, Z7, Z7
	VADDPS Z24, Z8, Z8
	VADDPS Z24, Z9, Z9
	VADDPS Z24, Z10, Z10
	VADDPS Z24, Z11, Z11

relu16:
	TESTQ $2, CX
	JEQ   store16
	VPXORD Z27, Z27, Z27
	RELU(Z0)
	RELU(Z1)
	RELU(Z2)
	RELU(Z3)
	RELU(Z4)
	RELU(Z5)
	RELU(Z6)
	RELU(Z7)
	RELU(Z8)
	RELU(Z9)
	RELU(Z10)
	RELU(Z11)

store16:
	MOVQ c+56(FP), DX
	MOVQ ldc+64(FP), R8
	SHLQ $2, R8
	VMOVUPS Z0, (DX)
	ADDQ    R8, DX
	VMOVUPS Z1, (DX)
	ADDQ    R8, DX
	VMOVUPS Z2, (DX)
	ADDQ    R8, DX
	VMOVUPS Z3, (DX)
	ADDQ    R8, DX
	VMOVUPS Z4, (DX)
	ADDQ    R8, DX
	VMOVUPS Z5, (DX)
	ADDQ    R8, DX
	VMOVUPS Z6, (DX)
	ADDQ    R8, DX
	VMOVUPS Z7, (DX)
	ADDQ    R8, DX
	VMOVUPS Z8, (DX)
	ADDQ    R8, DX
	VMOVUPS Z9, (DX)
	ADDQ    R8, DX
	VMOVUPS Z10, (DX)
	ADDQ    R8, DX
	VMOVUPS Z11, (DX)
	DECQ ntiles+88(FP)
	JEQ  done16
	MOVQ strideA+96(FP), R13
	SHLQ $2, R13
	ADDQ R13, a+16(FP)
	MOVQ strideC+104(FP), R13
	SHLQ $2, R13
	ADDQ R13, c+56(FP)
	JMP  tile16

done16:
	VZEROUPPER
	RET

// func maxPoolPixels512(dst, src *float32, c, npix, dstStep, srcStep int, offs *int, noffs int)
//
// maxPoolPixels with AVX-512: for each pixel, 64 channels at a time in
// four accumulators, then 16 at a time, each over all taps in order; the
// rest (below 16 channels) is left to the caller, which passes c a
// multiple of 16. MAXPS with the window value first and the running
// maximum second is 'if v > d { d = v }' (a NaN, or an equal zero, keeps
// the running maximum), so the window value is loaded first: as a memory
// operand it could only come second.
TEXT ·maxPoolPixels512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ npix+24(FP), R8
	MOVQ dstStep+32(FP), R9
	SHLQ $2, R9
	MOVQ srcStep+40(FP), R10
	SHLQ $2, R10
	MOVL $0xff800000, AX
	MOVQ AX, X15
	VBROADCASTSS X15, Z15

mzPix:
	TESTQ R8, R8
	JEQ   mzDone
	XORQ  BX, BX // channel offset in bytes
	MOVQ  c+16(FP), CX

mzCh64:
	CMPQ     CX, $64
	JLT      mzCh16
	VMOVAPS  Z15, Z0
	VMOVAPS  Z15, Z1
	VMOVAPS  Z15, Z2
	VMOVAPS  Z15, Z3
	MOVQ     offs+48(FP), DX
	MOVQ     noffs+56(FP), R11

mzTap64:
	MOVQ    (DX), R12
	LEAQ    (SI)(R12*4), R12
	ADDQ    BX, R12
	VMOVUPS (R12), Z4
	VMOVUPS 64(R12), Z5
	VMOVUPS 128(R12), Z6
	VMOVUPS 192(R12), Z7
	VMAXPS  Z0, Z4, Z0
	VMAXPS  Z1, Z5, Z1
	VMAXPS  Z2, Z6, Z2
	VMAXPS  Z3, Z7, Z3
	ADDQ    $8, DX
	DECQ    R11
	JNE     mzTap64
	VMOVUPS Z0, (DI)(BX*1)
	VMOVUPS Z1, 64(DI)(BX*1)
	VMOVUPS Z2, 128(DI)(BX*1)
	VMOVUPS Z3, 192(DI)(BX*1)
	ADDQ    $256, BX
	SUBQ    $64, CX
	JMP     mzCh64

mzCh16:
	CMPQ    CX, $16
	JLT     mzNext
	VMOVAPS Z15, Z0
	MOVQ    offs+48(FP), DX
	MOVQ    noffs+56(FP), R11

mzTap16:
	MOVQ    (DX), R12
	LEAQ    (SI)(R12*4), R12
	VMOVUPS (R12)(BX*1), Z4
	VMAXPS  Z0, Z4, Z0
	ADDQ    $8, DX
	DECQ    R11
	JNE     mzTap16
	VMOVUPS Z0, (DI)(BX*1)
	ADDQ    $64, BX
	SUBQ    $16, CX
	JMP     mzCh16

mzNext:
	ADDQ R9, DI
	ADDQ R10, SI
	DECQ R8
	JMP  mzPix

mzDone:
	VZEROUPPER
	RET

// func sconv24x16(nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags, ntiles, strideA, strideC, segs int)
//
// sconv24x16 is sconv12x16 over 24 rows, for an output of at most 16
// channels, where a tile's fixed costs weigh most. Rows 12-17 are read
// from R13 and rows 18-23 from BX, so the segments left are counted in
// the segs argument's slot (scratch: its value on entry is ignored).
TEXT ·sconv24x16(SB), NOSPLIT, $0-120

tile24:
	SETUP
	MOVQ nseg+0(FP), R13
	MOVQ R13, segs+112(FP)
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

seg24:
	NEXTSEG
	LEAQ (R11)(R9*2), R13
	LEAQ (R13)(R9*2), BX

k24:
	VMOVUPS (DI), Z24
	BCAST1((SI), Z0)
	BCAST1((SI)(R8*1), Z1)
	BCAST1((SI)(R8*2), Z2)
	BCAST1((SI)(R9*1), Z3)
	BCAST1((SI)(R8*4), Z4)
	BCAST1((SI)(R10*1), Z5)
	BCAST1((R11), Z6)
	BCAST1((R11)(R8*1), Z7)
	BCAST1((R11)(R8*2), Z8)
	BCAST1((R11)(R9*1), Z9)
	BCAST1((R11)(R8*4), Z10)
	BCAST1((R11)(R10*1), Z11)
	BCAST1((R13), Z12)
	BCAST1((R13)(R8*1), Z13)
	BCAST1((R13)(R8*2), Z14)
	BCAST1((R13)(R9*1), Z15)
	BCAST1((R13)(R8*4), Z16)
	BCAST1((R13)(R10*1), Z17)
	BCAST1((BX), Z18)
	BCAST1((BX)(R8*1), Z19)
	BCAST1((BX)(R8*2), Z20)
	BCAST1((BX)(R9*1), Z21)
	BCAST1((BX)(R8*4), Z22)
	BCAST1((BX)(R10*1), Z23)
	ADDQ $4, SI
	ADDQ $4, R11
	ADDQ $4, R13
	ADDQ $4, BX
	ADDQ R12, DI
	DECQ CX
	JNE  k24
	ADDQ $8, DX
	DECQ segs+112(FP)
	JNE  seg24

	MOVQ flags+80(FP), CX
	TESTQ $1, CX
	JEQ   relu24
	MOVQ  bias+72(FP), SI
	VMOVUPS (SI), Z24
	VADDPS Z24, Z0, Z0
	VADDPS Z24, Z1, Z1
	VADDPS Z24, Z2, Z2
	VADDPS Z24, Z3, Z3
	VADDPS Z24, Z4, Z4
	VADDPS Z24, Z5, Z5
	VADDPS Z24, Z6, Z6
	VADDPS Z24, Z7, Z7
	VADDPS Z24, Z8, Z8
	VADDPS Z24, Z9, Z9
	VADDPS Z24, Z10, Z10
	VADDPS Z24, Z11, Z11
	VADDPS Z24, Z12, Z12
	VADDPS Z24, Z13, Z13
	VADDPS Z24, Z14, Z14
	VADDPS Z24, Z15, Z15
	VADDPS Z24, Z16, Z16
	VADDPS Z24, Z17, Z17
	VADDPS Z24, Z18, Z18
	VADDPS Z24, Z19, Z19
	VADDPS Z24, Z20, Z20
	VADDPS Z24, Z21, Z21
	VADDPS Z24, Z22, Z22
	VADDPS Z24, Z23, Z23

relu24:
	TESTQ $2, CX
	JEQ   store24
	VPXORD Z27, Z27, Z27
	RELU(Z0)
	RELU(Z1)
	RELU(Z2)
	RELU(Z3)
	RELU(Z4)
	RELU(Z5)
	RELU(Z6)
	RELU(Z7)
	RELU(Z8)
	RELU(Z9)
	RELU(Z10)
	RELU(Z11)
	RELU(Z12)
	RELU(Z13)
	RELU(Z14)
	RELU(Z15)
	RELU(Z16)
	RELU(Z17)
	RELU(Z18)
	RELU(Z19)
	RELU(Z20)
	RELU(Z21)
	RELU(Z22)
	RELU(Z23)

store24:
	MOVQ c+56(FP), DX
	MOVQ ldc+64(FP), R8
	SHLQ $2, R8
	VMOVUPS Z0, (DX)
	ADDQ    R8, DX
	VMOVUPS Z1, (DX)
	ADDQ    R8, DX
	VMOVUPS Z2, (DX)
	ADDQ    R8, DX
	VMOVUPS Z3, (DX)
	ADDQ    R8, DX
	VMOVUPS Z4, (DX)
	ADDQ    R8, DX
	VMOVUPS Z5, (DX)
	ADDQ    R8, DX
	VMOVUPS Z6, (DX)
	ADDQ    R8, DX
	VMOVUPS Z7, (DX)
	ADDQ    R8, DX
	VMOVUPS Z8, (DX)
	ADDQ    R8, DX
	VMOVUPS Z9, (DX)
	ADDQ    R8, DX
	VMOVUPS Z10, (DX)
	ADDQ    R8, DX
	VMOVUPS Z11, (DX)
	ADDQ    R8, DX
	VMOVUPS Z12, (DX)
	ADDQ    R8, DX
	VMOVUPS Z13, (DX)
	ADDQ    R8, DX
	VMOVUPS Z14, (DX)
	ADDQ    R8, DX
	VMOVUPS Z15, (DX)
	ADDQ    R8, DX
	VMOVUPS Z16, (DX)
	ADDQ    R8, DX
	VMOVUPS Z17, (DX)
	ADDQ    R8, DX
	VMOVUPS Z18, (DX)
	ADDQ    R8, DX
	VMOVUPS Z19, (DX)
	ADDQ    R8, DX
	VMOVUPS Z20, (DX)
	ADDQ    R8, DX
	VMOVUPS Z21, (DX)
	ADDQ    R8, DX
	VMOVUPS Z22, (DX)
	ADDQ    R8, DX
	VMOVUPS Z23, (DX)
	DECQ ntiles+88(FP)
	JEQ  done24
	MOVQ strideA+96(FP), R13
	SHLQ $2, R13
	ADDQ R13, a+16(FP)
	MOVQ strideC+104(FP), R13
	SHLQ $2, R13
	ADDQ R13, c+56(FP)
	JMP  tile24

done24:
	VZEROUPPER
	RET
