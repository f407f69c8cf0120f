#!/usr/bin/env bash
# A real single-node Kafka (KRaft, broker+controller in one JVM) on loopback,
# built from Maven Central jars so tests need neither Docker nor a download site.
#
#   broker.sh resolve                     fetch jars into the cache (CI runs this up front)
#   broker.sh start   <port> <dataDir>    fresh cluster: wipes <dataDir>/kraft-logs, formats, starts
#   broker.sh restart <port> <dataDir>    stop if running, start again on the existing data
#   broker.sh stop    <dataDir>           SIGTERM (clean shutdown), SIGKILL after 15 s
#   broker.sh kill    <dataDir>           SIGKILL now, to simulate a crash
#   broker.sh run     <mainClass> [args]  run a Kafka class from the cache, e.g.
#                                         org.apache.kafka.tools.TopicCommand --bootstrap-server ... --list
#
# The controller listens on <port>+1. Env: PARLEY_CACHE_DIR (default <repo>/.cache),
# PARLEY_KAFKA_START_TIMEOUT (s, default 120), PARLEY_KAFKA_JVM_OPTS.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
POM=$HERE/pom.xml
VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
CACHE=$(realpath -m "${PARLEY_CACHE_DIR:-$HERE/../../../.cache}")/kafka-$VERSION
START_TIMEOUT=${PARLEY_KAFKA_START_TIMEOUT:-120}
# Tests want a fast start and a small footprint, not peak throughput: C1 only and
# the serial GC cut JVM warm-up; the heap is plenty for test traffic.
read -ra JVM_OPTS <<<"${PARLEY_KAFKA_JVM_OPTS:--Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}"

die() { echo "broker.sh: $*" >&2; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
since() { local d=$(($(now_ms) - $1)); printf '%d.%ds' $((d / 1000)) $((d % 1000 / 100)); }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Checking the command line (not just `kill -0`) guards against a recycled PID
# and treats a zombie (empty cmdline) as dead.
is_broker() { grep -qa 'kafka\.Kafka' "/proc/$1/cmdline" 2>/dev/null; }
# Used where the cmdline is no guide: our child before exec, and a dying JVM,
# whose main thread turns zombie while other threads still hold the sockets.
alive() {
  local f s
  for f in /proc/"$1"/task/*/stat; do
    { s=$(<"$f"); } 2>/dev/null || continue
    s=${s##*) }
    [[ ${s:0:1} == [ZX] ]] || return 0
  done
  return 1
}
set_java() { JAVA=(java "${JVM_OPTS[@]}" -Dlog4j2.configurationFile="$HERE/log4j2.properties" -cp "$CACHE/*"); }

resolve() {
  # Keyed on the pom's content, so editing a version re-resolves.
  local sum tmp t0
  sum=$(sha256sum "$POM" | cut -d' ' -f1)
  [[ -f $CACHE/.pom.sha256 && $(<"$CACHE/.pom.sha256") == "$sum" ]] && return 0
  t0=$(now_ms) tmp=$CACHE.tmp.$$
  rm -rf "$tmp" && mkdir -p "$tmp"
  # prependGroupId: two artifacts with the same name must not overwrite each other.
  # Output kept for failures only: even -q prints stray ANSI codes.
  mvn -B -q -f "$POM" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -Dmdep.prependGroupId=true >"$tmp.log" 2>&1 ||
    { cat "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"; die "mvn could not resolve $POM"; }
  rm -f "$tmp.log"
  echo "$sum" >"$tmp/.pom.sha256"
  # Rename last so an interrupted resolve never looks complete.
  rm -rf "$CACHE" && mv "$tmp" "$CACHE"
  echo "kafka $VERSION jars resolved into $CACHE in $(since "$t0")" >&2
}

running_pid() { # prints the live broker PID of $1, else fails (and drops a stale pidfile)
  local pid
  pid=$(cat "$1/broker.pid" 2>/dev/null) || return 1
  is_broker "$pid" && { echo "$pid"; return 0; }
  rm -f "$1/broker.pid"
  return 1
}

# With PARLEY_KAFKA_SASL_USER/PASSWORD set, clients must authenticate on <port>
# (SASL_PLAINTEXT with SCRAM-SHA-256/512 or PLAIN); the broker talks to itself on
# a plaintext listener at <port>+2.
sasl_enabled() { [[ -n ${PARLEY_KAFKA_SASL_USER:-} && -n ${PARLEY_KAFKA_SASL_PASSWORD:-} ]]; }

listener_props() { # <port> <controllerPort>
  if sasl_enabled; then
    local internal=$(($1 + 2)) user=$PARLEY_KAFKA_SASL_USER pass=$PARLEY_KAFKA_SASL_PASSWORD
    cat <<EOS
listeners=SASL_PLAINTEXT://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2,INTERNAL://127.0.0.1:$internal
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$1,INTERNAL://127.0.0.1:$internal
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT
inter.broker.listener.name=INTERNAL
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$user="$pass";
EOS
  else
    cat <<EOS
listeners=PLAINTEXT://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2
advertised.listeners=PLAINTEXT://127.0.0.1:$1
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
EOS
  fi
}

write_props() { # <port> <dataDir>
  local cport=$(($1 + 1))
  cat >"$2/server.properties" <<EOF
# Written by test/infra/kafka/broker.sh on every (re)start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
$(listener_props "$1" "$cport")
controller.listener.names=CONTROLLER
log.dirs=$2/kraft-logs
num.partitions=3
auto.create.topics.enable=false
# One broker: internal topics cannot have more replicas than that.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer internal partitions (default 50) make the first group join/transaction quick.
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5
share.coordinator.state.topic.num.partitions=5
group.initial.rebalance.delay.ms=0
# After a SIGKILL the old registration blocks the restarted broker until its
# session expires (default 9 s); heartbeats stay local, so 4 s is still safe.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
EOF
}

launch() { # <port> <dataDir>: start the JVM and wait until it serves clients
  local port=$1 dir=$2 t0=$3 pid deadline
  for p in "$port" $((port + 1)); do
    if port_open "$p"; then die "port $p on 127.0.0.1 is already in use"; fi
  done
  if [[ -f $dir/broker.log ]]; then mv -f "$dir/broker.log" "$dir/broker.log.1"; fi
  # Run as a plain command (not a function) so $! is the JVM that stop/kill
  # signal; all of stdio redirected so a caller reading our output (execSync,
  # $(...)) is not held open by the broker after we exit.
  set_java
  "${JAVA[@]}" kafka.Kafka "$dir/server.properties" </dev/null >"$dir/broker.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/broker.pid"
  trap 'kill -9 $pid 2>/dev/null; exit 130' INT TERM
  deadline=$(($(now_ms) + START_TIMEOUT * 1000))
  # The log line comes after the broker is unfenced (can create topics); the
  # port check confirms the client listener is the one we asked for.
  until grep -q 'Kafka Server started' "$dir/broker.log" && port_open "$port"; do
    local why=
    alive "$pid" || why="broker exited"
    (($(now_ms) > deadline)) && why="not ready after ${START_TIMEOUT}s"
    if [[ -n $why ]]; then
      { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
      rm -f "$dir/broker.pid"
      echo "---- tail of $dir/broker.log ----" >&2
      tail -n 60 "$dir/broker.log" >&2
      die "$why"
    fi
    sleep 0.2
  done
  trap - INT TERM
  echo "kafka $VERSION ready on 127.0.0.1:$port (pid $pid, data $dir) in $(since "$t0")"
}

start() { # <port> <dataDir>
  local port=$1 dir t0 id
  t0=$(now_ms)
  mkdir -p "$2" && dir=$(cd "$2" && pwd)
  running_pid "$dir" >/dev/null && die "a broker is already running for $dir"
  resolve
  write_props "$port" "$dir"
  rm -rf "$dir/kraft-logs"
  # A cluster id is 16 random bytes in URL-safe base64; making it here saves
  # a JVM start for `StorageTool random-uuid`.
  # One that starts with '-' would be read as an option (1 start in 64 failed that way).
  id=-
  while [[ $id == -* ]]; do id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
  set_java
  local scram=()
  if sasl_enabled; then
    for m in SCRAM-SHA-256 SCRAM-SHA-512; do
      scram+=(--add-scram "$m=[name=$PARLEY_KAFKA_SASL_USER,password=$PARLEY_KAFKA_SASL_PASSWORD]")
    done
  fi
  "${JAVA[@]}" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" "${scram[@]}" \
    >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; die "storage format failed"; }
  launch "$port" "$dir" "$t0"
}

restart() { # <port> <dataDir>
  local t0 dir
  t0=$(now_ms)
  dir=$(cd "$2" 2>/dev/null && pwd) || die "no data dir $2"
  [[ -f $dir/kraft-logs/meta.properties ]] || die "$dir has no formatted data; use start"
  if running_pid "$dir" >/dev/null; then stop "$dir"; fi
  resolve
  write_props "$1" "$dir"
  launch "$1" "$dir" "$t0"
}

wait_gone() { # <pid> <seconds>
  local end=$(($(now_ms) + $2 * 1000))
  # Not is_broker: the cmdline empties before the sockets close, and restart
  # needs the ports free.
  while alive "$1"; do
    (($(now_ms) > end)) && return 1
    sleep 0.1
  done
}

stop() { # <dataDir>
  local pid t0
  t0=$(now_ms)
  pid=$(running_pid "$1") || { echo "no broker running for $1"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 15; then
    echo "broker $pid ignored SIGTERM for 15s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "broker $pid would not die"
  fi
  rm -f "$1/broker.pid"
  echo "broker $pid stopped in $(since "$t0")"
}

crash() { # <dataDir>
  local pid
  pid=$(running_pid "$1") || { echo "no broker running for $1"; return 0; }
  kill -KILL "$pid"
  wait_gone "$pid" 10 || die "broker $pid would not die"
  rm -f "$1/broker.pid"
  echo "broker $pid killed"
}

usage() { sed -n '5,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

case ${1:-} in
  resolve) [[ $# -eq 1 ]] || usage; resolve ;;
  start | restart)
    [[ $# -eq 3 && $2 =~ ^[0-9]+$ && $2 -lt 65535 ]] || usage
    "$1" "$2" "$3"
    ;;
  stop) [[ $# -eq 2 ]] || usage; stop "$2" ;;
  kill) [[ $# -eq 2 ]] || usage; crash "$2" ;;
  run)
    [[ $# -ge 2 ]] || usage
    shift
    resolve
    JVM_OPTS+=(-Dparley.kafka.loglevel=WARN -Dparley.kafka.logtarget=SYSTEM_ERR)
    set_java
    exec "${JAVA[@]}" "$@"
    ;;
  *) usage ;;
esac
