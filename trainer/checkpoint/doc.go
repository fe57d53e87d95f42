// Package checkpoint saves and loads model and training state as
// safetensors files (https://github.com/huggingface/safetensors).
//
// # Format
//
// A safetensors file is
//
//	[8 bytes]  N, the header length, unsigned little-endian
//	[N bytes]  a JSON object (padded with spaces to a multiple of 8 bytes):
//	           {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//	            "__metadata__": {"key": "value", ...}}
//	[rest]     the tensor data, little-endian, row-major (C order); the
//	           offsets are relative to the start of this section and the
//	           tensors tile it exactly, without gaps or overlaps.
//
// The encoding is done by github.com/nlpodyssey/safetensors. Tensors are
// laid out by descending dtype alignment (F64 before F32) and then by name,
// as the reference implementation does, and the header's keys are sorted, so
// the same [File] always encodes to the same bytes. The files follow the
// format of the Python safetensors package (safetensors.numpy.load_file,
// safetensors.torch.load_file); the tests check this against it when a
// python3 with numpy and safetensors is installed, and skip otherwise.
//
// # Tensors
//
// [File.Tensors] holds *tensor.Dense values (gorgonia.org/tensor) of dtype
// Float32 ("F32") or Float64 ("F64"); any other dtype is an error that names
// the tensor, on encoding and on decoding. Views and transposed tensors are
// materialised before they are written; masks are not stored. A scalar Dense
// (shape ()) is written with shape [] and read back as a scalar. Tensors with
// no elements (a zero in the shape) cannot be represented by *tensor.Dense
// and are rejected. The name "__metadata__" is reserved by the format, and
// names, metadata keys and metadata values must be valid UTF-8.
//
// # Metadata
//
// [File.Metadata] is the format's string-to-string "__metadata__" map.
// [PutJSON] and [GetJSON] store arbitrary values (hyperparameters, the
// training step, optimiser settings) in it as JSON.
//
// # Integrity
//
// [Seal] stores a SHA-256 digest of a file's content (tensor names, dtypes,
// shapes and values; every other metadata entry) under the metadata key
// "checksum". [Load] and [Decode] verify a sealed file and refuse one whose
// content changed after it was written; [Verify] also reports a file that
// has no checksum, for callers (such as the trainer) that require one.
// [GetJSON] decodes strictly: a field the target type does not have is an
// error, so a corrupted key cannot silently fall back to a default.
//
// # Durability
//
// [Save] writes to a temporary file next to the destination, syncs it,
// renames it over the destination and syncs the directory, so that a crash or
// an error at any point leaves either the previous file or the complete new
// one. [Load] validates the whole file (header length, JSON, dtypes, shapes,
// and that the data offsets tile the data section exactly) and reports a
// truncated or corrupt file as an error naming the file; it does not panic on
// any input, and it reads regular files only.
package checkpoint
