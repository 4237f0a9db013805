package btf

// MaxKind is the highest kind the decoder knows, for the external tests.
const MaxKind = maxKind
