# Sourced by the launchers: ensure_built JAR MODULE builds MODULE (and what it needs) with Maven when
# JAR is missing or older than any source or pom, so a fresh clone or a `git pull` just works.
# An installed copy never builds: with VLLM_FACTORY_NO_BUILD=1, or with no pom.xml beside bin/ (a
# container image, a tarball), the jar is run as it is and a JRE suffices (see builds_allowed).

# True when the launchers may build: a source checkout, and VLLM_FACTORY_NO_BUILD unset or 0.
builds_allowed() {
  case "${VLLM_FACTORY_NO_BUILD:-0}" in 0 | "" | false | no) ;; *) return 1 ;; esac
  [ -f "$ROOT/pom.xml" ]
}

ensure_built() {
  local jar=$1 module=$2
  if ! builds_allowed; then
    if [ -f "$jar" ]; then return 0; fi
    echo "error: $jar is missing and this copy does not build itself (VLLM_FACTORY_NO_BUILD=${VLLM_FACTORY_NO_BUILD:-unset}, pom.xml $([ -f "$ROOT/pom.xml" ] && echo present || echo absent)); build it in a checkout with 'mvn -B -DskipTests package' and copy $module/target/ here, or unset VLLM_FACTORY_NO_BUILD." >&2
    exit 1
  fi
  if [ -f "$jar" ] && [ -z "$(find "$ROOT" \( -path "$ROOT/.git" -o -name target \) -prune -o \( -path '*/src/main/*' -o -name pom.xml \) -newer "$jar" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  if ! command -v mvn >/dev/null 2>&1; then
    echo "error: Maven (mvn) is needed to build $module the first time; install it, e.g. 'apt-get install maven' (or set VLLM_FACTORY_NO_BUILD=1 to run a jar built elsewhere)." >&2
    exit 1
  fi
  echo "building $module (first run or sources changed)..." >&2
  if ! (cd "$ROOT" && mvn -B -q -DskipTests -pl "$module" -am package >&2); then
    echo "error: the build of $module failed (see the Maven output above)." >&2
    exit 1
  fi
}
