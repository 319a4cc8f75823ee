{
  "targets": [
    {
      "target_name": "unix_dgram",
      "sources": ["native/unix-dgram/unix_dgram.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
