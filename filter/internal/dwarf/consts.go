package dwarf

// DWARF constants used by the scanner (DWARF 5 standard, section 7, plus
// the GNU extensions that gcc emits). Only the ones the scanner reads are
// listed; everything else is skipped by form.

// Tags.
const (
	tagArrayType          = 0x01
	tagEnumerationType    = 0x04
	tagFormalParameter    = 0x05
	tagMember             = 0x0d
	tagPointerType        = 0x0f
	tagReferenceType      = 0x10
	tagCompileUnit        = 0x11
	tagStructureType      = 0x13
	tagSubroutineType     = 0x15
	tagTypedef            = 0x16
	tagUnionType          = 0x17
	tagUnspecifiedParams  = 0x18
	tagInlinedSubroutine  = 0x1d
	tagPtrToMemberType    = 0x1f
	tagSubrangeType       = 0x21
	tagBaseType           = 0x24
	tagConstType          = 0x26
	tagSubprogram         = 0x2e
	tagVolatileType       = 0x35
	tagRestrictType       = 0x37
	tagUnspecifiedType    = 0x3b
	tagPartialUnit        = 0x3c
	tagRvalueReference    = 0x42
	tagAtomicType         = 0x47
	tagImmutableType      = 0x4b
	tagSkeletonUnit       = 0x4a
	tagGNUTemplateParam   = 0x4107
	tagClassType          = 0x02
	tagEnumerator         = 0x28
	tagVariable           = 0x34
	tagLexicalBlock       = 0x0b
	tagLabel              = 0x0a
	tagCallSite           = 0x48
	tagGNUCallSite        = 0x4109
	tagGNUFormalParamPack = 0x4108
)

// Attributes.
const (
	atSibling           = 0x01
	atLocation          = 0x02
	atName              = 0x03
	atByteSize          = 0x0b
	atBitOffset         = 0x0c
	atBitSize           = 0x0d
	atLowPC             = 0x11
	atHighPC            = 0x12
	atLanguage          = 0x13
	atCompDir           = 0x1b
	atConstValue        = 0x1c
	atInline            = 0x20
	atProducer          = 0x25
	atPrototyped        = 0x27
	atCount             = 0x37
	atUpperBound        = 0x2f
	atLowerBound        = 0x22
	atAbstractOrigin    = 0x31
	atArtificial        = 0x34
	atCallingConvention = 0x36
	atDataMemberLoc     = 0x38
	atDeclaration       = 0x3c
	atEncoding          = 0x3e
	atExternal          = 0x3f
	atSpecification     = 0x47
	atType              = 0x49
	atRanges            = 0x55
	atDataBitOffset     = 0x6b
	atLinkageName       = 0x6e
	atAlignment         = 0x88
	atFrameBase         = 0x40
	atStrOffsetsBase    = 0x72
	atAddrBase          = 0x73
	atRnglistsBase      = 0x74
	atLoclistsBase      = 0x8c
	atMIPSLinkageName   = 0x2007
	atGNUAddrBase       = 0x2133
	atGNURangesBase     = 0x2132
)

// Forms.
const (
	formAddr          = 0x01
	formBlock2        = 0x03
	formBlock4        = 0x04
	formData2         = 0x05
	formData4         = 0x06
	formData8         = 0x07
	formString        = 0x08
	formBlock         = 0x09
	formBlock1        = 0x0a
	formData1         = 0x0b
	formFlag          = 0x0c
	formSdata         = 0x0d
	formStrp          = 0x0e
	formUdata         = 0x0f
	formRefAddr       = 0x10
	formRef1          = 0x11
	formRef2          = 0x12
	formRef4          = 0x13
	formRef8          = 0x14
	formRefUdata      = 0x15
	formIndirect      = 0x16
	formSecOffset     = 0x17
	formExprloc       = 0x18
	formFlagPresent   = 0x19
	formStrx          = 0x1a
	formAddrx         = 0x1b
	formRefSup4       = 0x1c
	formStrpSup       = 0x1d
	formData16        = 0x1e
	formLineStrp      = 0x1f
	formRefSig8       = 0x20
	formImplicitConst = 0x21
	formLoclistx      = 0x22
	formRnglistx      = 0x23
	formRefSup8       = 0x24
	formStrx1         = 0x25
	formStrx2         = 0x26
	formStrx3         = 0x27
	formStrx4         = 0x28
	formAddrx1        = 0x29
	formAddrx2        = 0x2a
	formAddrx3        = 0x2b
	formAddrx4        = 0x2c
	formGNUAddrIndex  = 0x1f01
	formGNUStrIndex   = 0x1f02
	formGNURefAlt     = 0x1f20
	formGNUStrpAlt    = 0x1f21
)

// Unit types (DWARF 5 section 7.5.1).
const (
	utCompile      = 0x01
	utType         = 0x02
	utPartial      = 0x03
	utSkeleton     = 0x04
	utSplitCompile = 0x05
	utSplitType    = 0x06
)

// Base type encodings (DW_ATE_*), exported because the calling-convention
// models classify scalars by them.
const (
	ATEAddress      = 0x01
	ATEBoolean      = 0x02
	ATEComplexFloat = 0x03
	ATEFloat        = 0x04
	ATESigned       = 0x05
	ATESignedChar   = 0x06
	ATEUnsigned     = 0x07
	ATEUnsignedChar = 0x08
	ATEUTF          = 0x10
)

// Calling conventions (DW_CC_*), the values of Func.CallingConvention.
const (
	CCNormal      = 0x01
	CCProgram     = 0x02
	CCNocall      = 0x03
	CCPassByRef   = 0x04
	CCPassByValue = 0x05
)

// Inline codes (DW_INL_*), the values of Func.Inline.
const (
	InlNotInlined         = 0
	InlInlined            = 1
	InlDeclaredNotInlined = 2
	InlDeclaredInlined    = 3
)
