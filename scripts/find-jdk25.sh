# Sourced by ./vitq, ./run-tests and .ci/run: sets JAVA_HOME to a JDK 25 or explains what to install.
find_jdk25() {
  local cand
  for cand in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [ -n "$cand" ] && [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] || continue
    if "$cand/bin/java" -version 2>&1 | head -n1 | grep -Eq 'version "(2[5-9]|[3-9][0-9])'; then
      echo "$cand"; return 0
    fi
  done
  return 1
}

if ! JDK25="$(find_jdk25)"; then
  echo "vitq: no JDK 25 found (looked at JAVA_HOME and /usr/lib/jvm/*)." >&2
  echo "      Install one (e.g. Temurin 25: apt-get install temurin-25-jdk from the Adoptium repository)" >&2
  echo "      or set JAVA_HOME to a JDK 25 home." >&2
  exit 2
fi
export JAVA_HOME="$JDK25"
if ! command -v mvn >/dev/null 2>&1; then
  echo "vitq: Maven (mvn) is needed to build vitq; install it with 'apt-get install maven'." >&2
  exit 2
fi
