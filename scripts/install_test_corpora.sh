#!/usr/bin/env bash
# Real code for the tests, from Debian's packages: the Go standard library's sources, Ruby's standard
# library and glibc's sources (Python, JavaScript, Java, C headers and C++ come with the machine
# already). Best effort: without root or apt the tests use what the machine has. Run as root, it
# installs Debian packages with apt-get; NEARCOPY_NO_APT=1 says not to.
set -u
if [ -n "${NEARCOPY_NO_APT:-}" ]; then
  echo "test corpora: NEARCOPY_NO_APT is set: nothing installed; the tests use what the machine has" >&2
  exit 0
fi
have_go() { compgen -G "/usr/share/go-*/src" >/dev/null || [ -d /usr/lib/go/src ]; }
have_ruby() { compgen -G "/usr/lib/ruby/3.*" >/dev/null; }
have_glibc() { compgen -G "/usr/src/glibc/glibc-*.tar.*" >/dev/null; }
if have_go && have_ruby && have_glibc; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "test corpora: not root or no apt-get; Go, Ruby and glibc sources are not installed" >&2
  exit 0
fi
packages=()
have_go || packages+=(golang-1.19-src)
have_ruby || packages+=(libruby3.1)
have_glibc || packages+=(glibc-source)
echo "test corpora: installing ${packages[*]}"
(apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1 \
  || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1; }) \
  || echo "test corpora: apt-get could not install ${packages[*]}; continuing without them" >&2
exit 0
