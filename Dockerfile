# nearcopy serve in a container: the sidecar and OpenAI-compatible filtering proxy, with the protected
# index mounted read-only at /index.
#
#   docker build -t nearcopy .
#   docker run --rm -p 8000:8000 -v "$PWD/protected.idx:/index:ro" nearcopy
#   docker run --rm -p 8000:8000 -v "$PWD/protected.idx:/index:ro" nearcopy \
#       --index /index --host 0.0.0.0 --upstream http://vllm:8001/v1 --license-policy GPL-3.0=replace
#
# Arguments after the image name replace the default ones (CMD) below, so give --index and --host
# again. A keyed index needs its key: mount the key file read-only too and pass --key-file, or set
# NEARCOPY_KEY. Reloads: `docker kill --signal HUP`, or publish a new generation into the mounted
# directory (`nearcopy index add` on the host); the service picks it up within --watch-interval.

# Stage 1: the wheel, built with maturin (Rust from rustup: Debian's is older than the crates need).
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# The toolchain where the image says, not in the build user's home.
ENV RUSTUP_HOME=/opt/rustup CARGO_HOME=/opt/cargo
ENV PATH=$CARGO_HOME/bin:$PATH
RUN curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain stable --no-modify-path
RUN pip install --no-cache-dir "maturin>=1.9.4,<2"
WORKDIR /src
COPY Cargo.toml Cargo.lock pyproject.toml README.md ./
COPY rust rust
COPY python python
RUN maturin build --release --out /wheels

# Stage 2: the runtime: the wheel with its serve extra, no compiler, a user without privileges.
FROM python:3.11-slim-bookworm
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir "$(ls /wheels/nearcopy-*.whl)[serve]" && rm -rf /wheels \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin nearcopy
USER 10001
EXPOSE 8000
# The index is only read: readers take no lock and write nothing, so a read-only mount serves.
VOLUME ["/index"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["nearcopy", "serve"]
CMD ["--index", "/index", "--host", "0.0.0.0", "--port", "8000", "--access-log", "-"]
