//go:build amd64 && !noasm

#include "textflag.h"

// sconvavx2 is the AVX2/FMA direct-convolution micro-kernel: blocks of
// 6 output pixels by 16 output channels, each in twelve YMM accumulators,
// over the same A and B as the AVX-512 kernels of conv_amd64.s (row i of
// segment s of A starts at a + offs[s] + i*lda, B is read row by row ldb
// elements apart through all segments in turn). A block is finished in
// registers: plus bias (flags bit 0), then max(x, 0) (flags bit 1),
// before it is stored to c, rows ldc apart. The call computes rowblocks
// such blocks one under the other (a tile of 6·rowblocks rows by 16), and
// then, ntiles times in all, the same again with a and c moved on by
// strideA and strideC elements.
//
// Registers: AX the base of A for the block, BX the segments left, CX the
// steps left in a segment, DX the next offset, SI rows 0-2 and R11 rows
// 3-5 of A, DI the row of B, R8 = lda, R9 = 3·lda, R12 = ldb (bytes), R10
// the block's C, R13 the blocks left in the tile; Y12 and Y13 the row of
// B, Y14 the broadcast A value, Y15 zero.

// ROW adds the products of one broadcast A value and the row of B to the
// accumulators lo and hi.
#define ROW(addr, lo, hi) \
	VBROADCASTSS addr, Y14; \
	VFMADD231PS  Y12, Y14, lo; \
	VFMADD231PS  Y13, Y14, hi

// RELU is max(x, 0) as Go computes it: MAXPS with the zero first keeps a
// NaN, and adding +0 turns -0 into +0. Y15 holds zero.
#define RELU(y) \
	VMAXPS y, Y15, y; \
	VADDPS Y15, y, y

// func sconvavx2(nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags, rowblocks, ntiles, strideA, strideC int)
TEXT ·sconvavx2(SB), NOSPLIT, $0-120
	MOVQ lda+24(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ ldb+48(FP), R12
	SHLQ $2, R12

tile:
	MOVQ a+16(FP), AX
	MOVQ c+56(FP), R10
	MOVQ rowblocks+88(FP), R13

block:
	MOVQ nseg+0(FP), BX
	MOVQ offs+32(FP), DX
	MOVQ pb+40(FP), DI
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

seg:
	MOVQ (DX), SI
	SHLQ $2, SI
	ADDQ AX, SI
	LEAQ (SI)(R9*1), R11
	MOVQ kseg+8(FP), CX

step:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW((SI), Y0, Y1)
	ROW((SI)(R8*1), Y2, Y3)
	ROW((SI)(R8*2), Y4, Y5)
	ROW((R11), Y6, Y7)
	ROW((R11)(R8*1), Y8, Y9)
	ROW((R11)(R8*2), Y10, Y11)
	ADDQ $4, SI
	ADDQ $4, R11
	ADDQ R12, DI
	DECQ CX
	JNE  step
	ADDQ $8, DX
	DECQ BX
	JNE  seg

	MOVQ flags+80(FP), CX
	TESTQ $1, CX
	JEQ   relu
	MOVQ  bias+72(FP), SI
	VMOVUPS (SI), Y12
	VMOVUPS 32(SI), Y13
	VADDPS Y12, Y0, Y0
	VADDPS Y13, Y1, Y1
	VADDPS Y12, Y2, Y2
	VADDPS Y13, Y3, Y3
	VADDPS Y12, Y4, Y4
	VADDPS Y13, Y5, Y5
	VADDPS Y12, Y6, Y6
	VADDPS Y13, Y7, Y7
	VADDPS Y12, Y8, Y8
	VADDPS Y13, Y9, Y9
	VADDPS Y12, Y10, Y10
	VADDPS Y13, Y11, Y11

relu:
	TESTQ $2, CX
	JEQ   store
	VXORPS Y15, Y15, Y15
	RELU(Y0)
	RELU(Y1)
	RELU(Y2)
	RELU(Y3)
	RELU(Y4)
	RELU(Y5)
	RELU(Y6)
	RELU(Y7)
	RELU(Y8)
	RELU(Y9)
	RELU(Y10)
	RELU(Y11)

store:
	MOVQ ldc+64(FP), DX
	SHLQ $2, DX
	VMOVUPS Y0, (R10)
	VMOVUPS Y1, 32(R10)
	ADDQ    DX, R10
	VMOVUPS Y2, (R10)
	VMOVUPS Y3, 32(R10)
	ADDQ    DX, R10
	VMOVUPS Y4, (R10)
	VMOVUPS Y5, 32(R10)
	ADDQ    DX, R10
	VMOVUPS Y6, (R10)
	VMOVUPS Y7, 32(R10)
	ADDQ    DX, R10
	VMOVUPS Y8, (R10)
	VMOVUPS Y9, 32(R10)
	ADDQ    DX, R10
	VMOVUPS Y10, (R10)
	VMOVUPS Y11, 32(R10)
	ADDQ    DX, R10
	LEAQ    (AX)(R9*2), AX
	DECQ    R13
	JNE     block

	DECQ ntiles+96(FP)
	JEQ  done
	MOVQ strideA+104(FP), DX
	SHLQ $2, DX
	ADDQ DX, a+16(FP)
	MOVQ strideC+112(FP), DX
	SHLQ $2, DX
	ADDQ DX, c+56(FP)
	JMP  tile

done:
	VZEROUPPER
	RET

// sconvavx2rows is sconvavx2 for one block of mr rows (1 to 5) by 16
// columns, one tile a call, for the tiles that cover exactly the wanted
// pixels of an output row (with sconvavx2 for their blocks of 6). The
// loops are unrolled for each mr; the epilogue finishes all twelve
// accumulators and stores the first mr rows.
//
// func sconvavx2rows(mr, nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags int)
TEXT ·sconvavx2rows(SB), NOSPLIT, $0-96
	MOVQ nseg+8(FP), BX
	MOVQ a+24(FP), AX
	MOVQ lda+32(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ offs+40(FP), DX
	MOVQ pb+48(FP), DI
	MOVQ ldb+56(FP), R12
	SHLQ $2, R12
	MOVQ mr+0(FP), R13
	CMPQ R13, $1
	JEQ  ar1
	CMPQ R13, $2
	JEQ  ar2
	CMPQ R13, $3
	JEQ  ar3
	CMPQ R13, $4
	JEQ  ar4
	CMPQ R13, $5
	JEQ  ar5
	JMP  ardone

ar1:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

ar1seg:
	MOVQ (DX), SI
	SHLQ $2, SI
	ADDQ AX, SI
	MOVQ kseg+16(FP), CX

ar1k:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW((SI), Y0, Y1)
	ADDQ $4, SI
	ADDQ R12, DI
	DECQ CX
	JNE  ar1k
	ADDQ $8, DX
	DECQ BX
	JNE  ar1seg
	JMP  arepi

ar2:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

ar2seg:
	MOVQ (DX), SI
	SHLQ $2, SI
	ADDQ AX, SI
	MOVQ kseg+16(FP), CX

ar2k:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW((SI), Y0, Y1)
	ROW((SI)(R8*1), Y2, Y3)
	ADDQ $4, SI
	ADDQ R12, DI
	DECQ CX
	JNE  ar2k
	ADDQ $8, DX
	DECQ BX
	JNE  ar2seg
	JMP  arepi

ar3:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5

ar3seg:
	MOVQ (DX), SI
	SHLQ $2, SI
	ADDQ AX, SI
	MOVQ kseg+16(FP), CX

ar3k:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW((SI), Y0, Y1)
	ROW((SI)(R8*1), Y2, Y3)
	ROW((SI)(R8*2), Y4, Y5)
	ADDQ $4, SI
	ADDQ R12, DI
	DECQ CX
	JNE  ar3k
	ADDQ $8, DX
	DECQ BX
	JNE  ar3seg
	JMP  arepi

ar4:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

ar4seg:
	MOVQ (DX), SI
	SHLQ $2, SI
	ADDQ AX, SI
	LEAQ (SI)(R9*1), R11
	MOVQ kseg+16(FP), CX

ar4k:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW((SI), Y0, Y1)
	ROW((SI)(R8*1), Y2, Y3)
	ROW((SI)(R8*2), Y4, Y5)
	ROW((R11), Y6, Y7)
	ADDQ $4, SI
	ADDQ $4, R11
	ADDQ R12, DI
	DECQ CX
	JNE  ar4k
	ADDQ $8, DX
	DECQ BX
	JNE  ar4seg
	JMP  arepi

ar5:
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

ar5seg:
	MOVQ (DX), SI
	SHLQ $2, SI
	ADDQ AX, SI
	LEAQ (SI)(R9*1), R11
	MOVQ kseg+16(FP), CX

ar5k:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW((SI), Y0, Y1)
	ROW((SI)(R8*1), Y2, Y3)
	ROW((SI)(R8*2), Y4, Y5)
	ROW((R11), Y6, Y7)
	ROW((R11)(R8*1), Y8, Y9)
	ADDQ $4, SI
	ADDQ $4, R11
	ADDQ R12, DI
	DECQ CX
	JNE  ar5k
	ADDQ $8, DX
	DECQ BX
	JNE  ar5seg
	JMP  arepi

arepi:
	MOVQ flags+88(FP), CX
	TESTQ $1, CX
	JEQ   arrelu
	MOVQ  bias+80(FP), SI
	VMOVUPS (SI), Y12
	VMOVUPS 32(SI), Y13
	VADDPS Y12, Y0, Y0
	VADDPS Y13, Y1, Y1
	VADDPS Y12, Y2, Y2
	VADDPS Y13, Y3, Y3
	VADDPS Y12, Y4, Y4
	VADDPS Y13, Y5, Y5
	VADDPS Y12, Y6, Y6
	VADDPS Y13, Y7, Y7
	VADDPS Y12, Y8, Y8
	VADDPS Y13, Y9, Y9

arrelu:
	TESTQ $2, CX
	JEQ   arstore
	VXORPS Y15, Y15, Y15
	RELU(Y0)
	RELU(Y1)
	RELU(Y2)
	RELU(Y3)
	RELU(Y4)
	RELU(Y5)
	RELU(Y6)
	RELU(Y7)
	RELU(Y8)
	RELU(Y9)

arstore:
	MOVQ c+64(FP), DX
	MOVQ ldc+72(FP), R8
	SHLQ $2, R8
	LEAQ -1(R13), CX
	IMULQ R8, CX
	ADDQ CX, DX
	CMPQ R13, $5
	JEQ  arst5
	CMPQ R13, $4
	JEQ  arst4
	CMPQ R13, $3
	JEQ  arst3
	CMPQ R13, $2
	JEQ  arst2
	CMPQ R13, $1
	JEQ  arst1
	JMP  ardone

arst5:
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	SUBQ    R8, DX

arst4:
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	SUBQ    R8, DX

arst3:
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	SUBQ    R8, DX

arst2:
	VMOVUPS Y2, (DX)
	VMOVUPS Y3, 32(DX)
	SUBQ    R8, DX

arst1:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)

ardone:
	VZEROUPPER
	RET
