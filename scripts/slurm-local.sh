#!/usr/bin/env bash
# profiles/slurm on a real scheduler. Starts a one-node SLURM cluster from Debian's packages
# (munged, MariaDB, slurmdbd, slurmctld, slurmd; the node has this machine's CPUs and memory, a
# GPU GRES to schedule and no GPU; partitions cpu and gpu), with all its config, keys, database,
# state and logs in one `mktemp -d` directory, and runs part of the default workflow through
# `--workflow-profile profiles/slurm` (snakemake-executor-plugin-slurm, polling sacct). Checks:
#   - every SLURM job COMPLETED (sacct);
#   - SLURM got what Snakemake decided (cpus = the job's threads, memory = mem_mb, time limit =
#     runtime, partition), and the rules that size themselves (mem_mb/runtime callables:
#     corpora_corpus, annotate_shard, text2expr_train) kept their values: those of a local run;
#   - a GPU request reaches SLURM: one annotation shard runs again with
#     --config annotate='{gpus_per_shard: 1}' (resources only: a dry run first shows that it
#     re-runs nothing) and must ask for gres/gpu=1, every other job for none;
#   - every table the run wrote (each .parquet, .json and .csv under results/) equals the one
#     a local run of the same targets wrote (no profile, same threads), timings left out
#     (python -m blendtalk.compare).
# Then it stops every daemon (trap on EXIT, also after a failure or Ctrl-C) and removes the
# directory (SLURM_LOCAL_KEEP=1 keeps it). Exit status 0 only when every check passed.
#
# Targets: results/corpora/qc.json, annotations/descriptions.parquet (two shard jobs),
# blendshapes/expressions.parquet, metrics/text2expr.json (training), speech/plan.parquet (a
# checkpoint), then two utterances' speech/animation/<utt_id>.parquet: each utterance's synthesis
# and animation is one grouped `speech_utterance` sbatch job (the profile's `groups:`). That is
# every stage from corpora to text2expr, a checkpoint and group jobs: 14 sbatch jobs, plus the
# GPU shard. The rest of the default run (~150 steps: the whole speech corpus, videos, speech2face
# training) would add ~10 minutes on 2 cores and no SLURM feature these do not use.
#
# Takes about 6 minutes on 2 cores (local reference run ~1 min, SLURM run ~4.5 min: each job
# starts its own Snakemake), plus ~20 s for the Debian packages the first time. Runs
# scripts/setup.sh first. Runs as root only (CI, containers): the cluster's daemons run as root
# (SlurmUser=root) and apt-get installs what is missing.
# Usage: bash scripts/slurm-local.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=$REPO/.venv/bin/python
SNAKEMAKE=$REPO/.venv/bin/snakemake
APT_PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
CLUSTER=blendtalk
ACCOUNT=blendtalk
NODE=local
STAGE_TARGETS=(results/corpora/qc.json results/annotations/descriptions.parquet
               results/blendshapes/expressions.parquet results/metrics/text2expr.json
               results/speech/plan.parquet)
GPU_TARGET=results/annotations/shards/000.parquet
GPU_CONFIG="annotate={gpus_per_shard: 1}"
declare -A PID=()
DAEMONS=()
SNAKEMAKE_PID=

log() { printf 'slurm-local [%d:%02d]: %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
die() { echo "slurm-local: FAILED: $*" >&2; exit 1; }

install_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- daemons: each in its foreground mode, in the background, its pid kept ------------------

start_daemon() {  # name command...: start it in its own session (a Ctrl-C or a signal to the
  # script's process group reaches the script only, whose EXIT trap stops the cluster in order:
  # jobs first), output to log/<name>.out
  local name=$1
  shift
  setsid "$@" >"$TMP/log/$name.out" 2>&1 &
  PID[$name]=$!
  DAEMONS+=("$name")
}

alive() {  # name: its process still runs (a dead child stays a zombie until reaped)
  local stat
  read -r stat 2>/dev/null <"/proc/${PID[$1]}/stat" || return 1
  stat=${stat##*) }
  [[ $stat != Z* && $stat != X* ]]
}

show_logs() {  # name: print the daemon's output and log files
  local file
  for file in "$TMP/log/$1".*; do
    [ -e "$file" ] || continue
    echo "----- $file (last 40 lines)" >&2
    tail -n 40 "$file" >&2
  done
}

wait_until() {  # name seconds command...: poll the command until it succeeds
  local name=$1 seconds=$2 deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then show_logs "$name"; die "$name exited during start-up"; fi
    if ((SECONDS >= deadline)); then show_logs "$name"; die "$name not ready after ${seconds}s"; fi
    sleep 0.5
  done
  log "$name ready"
}

stop_daemon() {  # name: TERM, then KILL after 15 s
  local pid=${PID[$1]} watchdog
  alive "$1" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  (sleep 15 && kill -KILL "$pid" 2>/dev/null) &
  watchdog=$!
  wait "$pid" 2>/dev/null || true
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
}

cancel_jobs() {  # cancel what is left in the queue and wait (bounded) for it to end
  [[ -n ${PID[slurmctld]:-} ]] && alive slurmctld || return 0
  scancel --quiet --full --user="$(id -un)" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while [ -n "$(squeue -h -o %i 2>/dev/null)" ] && ((SECONDS < deadline)); do sleep 1; done
}

stop_snakemake() {  # a snakemake still running (the script was interrupted): TERM, then KILL
  [ -n "$SNAKEMAKE_PID" ] || return 0
  kill -TERM "$SNAKEMAKE_PID" 2>/dev/null
  (sleep 15 && kill -KILL "$SNAKEMAKE_PID" 2>/dev/null) &
  local watchdog=$!
  wait "$SNAKEMAKE_PID" 2>/dev/null
  kill "$watchdog" 2>/dev/null
  wait "$watchdog" 2>/dev/null
}

cleanup() {
  local status=$? i
  set +e
  stop_snakemake
  cancel_jobs
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do stop_daemon "${DAEMONS[i]}"; done
  if [ -n "${SLURM_LOCAL_KEEP:-}" ]; then
    log "kept $TMP"
  else
    rm -rf "$TMP"
  fi
  ((status == 0)) || echo "slurm-local: exit status $status" >&2
}

# --- configuration ---------------------------------------------------------------------------

free_ports() {  # four free TCP ports on 127.0.0.1
  "$PY" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
}

write_config() {
  local host
  host=$(hostname -s)
  read -r CTLD_PORT SLURMD_PORT DBD_PORT DB_PORT < <(free_ports)
  NCPU=$(nproc)
  MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
  MUNGE_SOCKET=$TMP/munge/munge.socket
  DB_SOCKET=$TMP/mysql/mysqld.sock
  DB_PASS=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  mkdir -p "$TMP"/{etc,log,run,munge,mysql,state/slurmctld,state/slurmd,wf}
  cat >"$TMP/etc/slurm.conf" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$TMP/state/slurmctld
SlurmdSpoolDir=$TMP/state/slurmd
SlurmctldPidFile=$TMP/run/slurmctld.pid
SlurmdPidFile=$TMP/run/slurmd.pid
SlurmctldLogFile=$TMP/log/slurmctld.log
SlurmdLogFile=$TMP/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups in a container: plain process tracking, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
KillWait=5
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
# the munge socket for talking to slurmdbd (AuthInfo covers slurmctld and slurmd only)
AccountingStoragePass=$MUNGE_SOCKET
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
NodeName=$NODE NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$MEM_MB Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE MaxTime=INFINITE State=UP
EOF
  # One GPU to schedule, none to use. Slurm 22.05 drops a gpu GRES without File= ("Removing
  # file-less GPU"), so it names /dev/null; without cgroups, nothing is ever opened.
  echo "NodeName=$NODE Name=gpu File=/dev/null" >"$TMP/etc/gres.conf"
  cat >"$TMP/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=$host
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
LogFile=$TMP/log/slurmdbd.log
PidFile=$TMP/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
  chmod 0600 "$TMP/etc/slurmdbd.conf"
  export SLURM_CONF=$TMP/etc/slurm.conf
  write_srun_wrapper
}

# Inside each job, snakemake-executor-plugin-slurm-jobstep 0.6.1 starts the rule with `srun`
# in an environment without any SLURM_* variable, SLURM_CONF included, so that srun finds no
# configuration unless it lies in /etc/slurm (or comes from a configless slurmd). This srun,
# first on the jobs' PATH, puts SLURM_CONF back from a variable the plugin keeps.
write_srun_wrapper() {
  mkdir -p "$TMP/bin"
  cat >"$TMP/bin/srun" <<'EOF'
#!/bin/sh
SLURM_CONF=$LOCAL_SLURM_CONF exec /usr/bin/srun "$@"
EOF
  chmod 0755 "$TMP/bin/srun"
  export LOCAL_SLURM_CONF=$SLURM_CONF PATH=$TMP/bin:$PATH
}

# --- start-up ----------------------------------------------------------------------------------

munge_works() { munge -n -S "$MUNGE_SOCKET" | unmunge -S "$MUNGE_SOCKET"; }

start_munge() {
  head -c 1024 /dev/urandom >"$TMP/munge/munge.key"
  chmod 0711 "$TMP" "$TMP/munge"  # clients need to reach the socket
  chmod 0400 "$TMP/munge/munge.key"
  start_daemon munged munged --foreground --key-file="$TMP/munge/munge.key" \
    --socket="$MUNGE_SOCKET" --pid-file="$TMP/run/munged.pid" \
    --log-file="$TMP/log/munged.log" --seed-file="$TMP/munge/munged.seed"
  wait_until munged 30 munge_works
}

mariadb_sql() { mariadb --no-defaults --socket="$DB_SOCKET" -u root; }

start_mariadb() {
  mariadb-install-db --no-defaults --datadir="$TMP/mysql/data" --user=root \
    --auth-root-authentication-method=socket --skip-test-db >"$TMP/log/mariadb.install" 2>&1 ||
    { show_logs mariadb; die "mariadb-install-db failed"; }
  start_daemon mariadb mariadbd --no-defaults --datadir="$TMP/mysql/data" --user=root \
    --socket="$DB_SOCKET" --pid-file="$TMP/run/mariadb.pid" --port="$DB_PORT" \
    --bind-address=127.0.0.1 --skip-name-resolve --log-error="$TMP/log/mariadb.log" \
    --innodb-buffer-pool-size=64M
  wait_until mariadb 60 mariadb-admin --no-defaults --socket="$DB_SOCKET" -u root ping
  mariadb_sql <<EOF  # DB_PASS is hex
CREATE DATABASE slurm_acct_db;
CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
EOF
}

start_slurm() {
  start_daemon slurmdbd slurmdbd -D
  wait_until slurmdbd 60 sacctmgr -n list cluster
  {
    sacctmgr -i add cluster "$CLUSTER"
    sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" \
      Description=slurm-local Organization=blendtalk
    sacctmgr -i add user "$(id -un)" Account="$ACCOUNT" Cluster="$CLUSTER"
  } >"$TMP/log/sacctmgr.out" 2>&1 || { cat "$TMP/log/sacctmgr.out" >&2; die "sacctmgr failed"; }
  start_daemon slurmctld slurmctld -D
  wait_until slurmctld 60 sinfo -h
  start_daemon slurmd slurmd -D -N "$NODE"
  wait_until slurmd 60 node_idle
  log "cluster up: node $NODE with $NCPU CPUs, $MEM_MB MB, gres gpu:1; partitions cpu, gpu"
}

node_idle() { sinfo -h -n "$NODE" -o %T | grep -qx idle; }

# --- workflow runs -----------------------------------------------------------------------------

profile_args() {  # mode (slurm|threads): profile entries as CLI arguments that fit this node
  "$PY" - "$1" "$REPO/profiles/slurm/config.yaml" "$NCPU" "$MEM_MB" "$ACCOUNT" <<'EOF'
"""Snakemake replaces a profile's default-resources/set-resources/set-threads wholesale when the
command line gives them, so repeat the profile's entries with the local account and partitions
in its empty slurm_account/slurm_partition (per rule: the GPU partition) and CPUs and memory
capped at the node's. `threads` mode: only --set-threads (for the local reference run)."""
import sys
import yaml

mode, path, ncpu, mem_mb, account = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:5]), sys.argv[5]
profile = yaml.safe_load(open(path, encoding="utf-8"))


def fit(resources, partition):
    fitted = {}
    for key, value in resources.items():
        if key == "slurm_account" and value == "":
            value = account
        elif key == "slurm_partition" and value == "":
            value = partition
        elif key == "cpus_per_task":
            value = min(value, ncpu)
        elif key == "mem_mb":
            value = min(value, mem_mb)
        fitted[key] = value
    return fitted


args = ["--set-threads", *(f"{rule}={min(n, ncpu)}" for rule, n in profile["set-threads"].items())]
if mode == "slurm":
    args += ["--default-resources",
             *(f"{k}={v}" for k, v in fit(profile["default-resources"], "cpu").items())]
    args += ["--set-resources",
             *(f"{rule}:{k}={v}" for rule, res in profile["set-resources"].items()
               for k, v in fit(res, "gpu").items())]
print("\n".join(args))
EOF
}

run_snakemake() {  # workdir logfile args...: snakemake in workdir, output to logfile; in the
  # background and its own session, so that a signal runs the EXIT trap at once
  local workdir=$1 logfile=$2 status=0
  shift 2
  (cd "$workdir" && exec setsid "$SNAKEMAKE" "$@") >"$logfile" 2>&1 &
  SNAKEMAKE_PID=$!
  wait "$SNAKEMAKE_PID" || status=$?
  SNAKEMAKE_PID=
  ((status == 0)) && return 0
  echo "----- $logfile (last 60 lines)" >&2
  tail -n 60 "$logfile" >&2
  die "snakemake failed (exit $status) in $workdir; its log is above"
}

pick_utterances() {  # plan.parquet: two utterances' animation targets
  "$PY" - "$1" <<'EOF'
import sys
import pandas as pd

ids = sorted(pd.read_parquet(sys.argv[1], columns=["utt_id"])["utt_id"])[:2]
print("\n".join(f"results/speech/animation/{utt_id}.parquet" for utt_id in ids))
EOF
}

local_run() {
  local threads
  mapfile -t threads < <(profile_args threads)
  ((${#threads[@]})) || die "could not read profiles/slurm/config.yaml"
  log "local reference run (no profile; ${threads[*]})"
  run_snakemake "$LOCAL_WF" "$TMP/log/local-1.snakemake" "${STAGE_TARGETS[@]}" \
    --workflow-profile none --cores "$NCPU" "${threads[@]}"
  mapfile -t SPEECH_TARGETS < <(pick_utterances "$LOCAL_WF/results/speech/plan.parquet")
  ((${#SPEECH_TARGETS[@]} == 2)) || die "no two utterances in the local run's speech plan"
  run_snakemake "$LOCAL_WF" "$TMP/log/local-2.snakemake" "${SPEECH_TARGETS[@]}" \
    --workflow-profile none --cores "$NCPU" "${threads[@]}"
}

slurm_run() {
  local extra
  mapfile -t extra < <(profile_args slurm)
  ((${#extra[@]})) || die "could not read profiles/slurm/config.yaml"
  # --verbose: the plugin logs each sbatch call; status checks every 2 s at first instead of 40
  SLURM_ARGS=(--workflow-profile "$REPO/profiles/slurm" "${extra[@]}" --verbose
              --slurm-status-command sacct --slurm-init-seconds-before-status-checks 2)
  log "SLURM run: --workflow-profile profiles/slurm, with these local settings: ${extra[*]}"
  run_snakemake "$SLURM_WF" "$TMP/log/slurm.snakemake" "${STAGE_TARGETS[@]}" \
    "${SPEECH_TARGETS[@]}" "${SLURM_ARGS[@]}"
}

gpu_run() {
  log "GPU request: $GPU_TARGET again with --config '$GPU_CONFIG'"
  run_snakemake "$SLURM_WF" "$TMP/log/gpu-dryrun.snakemake" "${STAGE_TARGETS[@]}" \
    "${SPEECH_TARGETS[@]}" "${SLURM_ARGS[@]}" --dry-run --config "$GPU_CONFIG"
  grep -q "Nothing to be done" "$TMP/log/gpu-dryrun.snakemake" ||
    die "--config '$GPU_CONFIG' would re-run jobs (it must change resources only):" \
      "$(grep -A20 '^Job stats' "$TMP/log/gpu-dryrun.snakemake")"
  run_snakemake "$SLURM_WF" "$TMP/log/gpu.snakemake" "$GPU_TARGET" "${SLURM_ARGS[@]}" \
    --forcerun annotate_shard --config "$GPU_CONFIG"
}

# --- checks ------------------------------------------------------------------------------------

check_jobs() {  # every SLURM job: COMPLETED, and asked for what Snakemake decided
  sacct -X -P -n -a -S 2000-01-01 -o \
    JobIDRaw,JobName,Comment,Partition,State,ExitCode,ReqCPUS,ReqMem,Timelimit,ReqTRES \
    >"$TMP/log/sacct.txt"
  "$PY" - "$TMP/log/sacct.txt" "$TMP/log/local-1.snakemake,$TMP/log/local-2.snakemake" \
    "$TMP/log/slurm.snakemake,$TMP/log/gpu.snakemake" <<'EOF'
"""sacct's record of each submitted job against Snakemake's job (its log): state COMPLETED;
cpus = threads, memory = mem_mb, time limit = runtime, GPUs = gpu, partition; a rule's own
mem_mb/runtime (the local run's, which has no profile) unchanged; no job in two sbatch jobs.
A group job is one utterance's chain: max threads/mem_mb/gpu, summed runtime."""
import re
import sys

sacct_path, local_logs, slurm_logs = sys.argv[1], *(a.split(",") for a in sys.argv[2:4])
FIELDS = ("id", "name", "comment", "partition", "state", "exit", "cpus", "mem", "time", "tres")
sacct = {r["id"]: r for r in (dict(zip(FIELDS, line.rstrip("\n").split("|")))
                              for line in open(sacct_path) if line.strip())}


def jobs_of(text):
    """The jobs Snakemake printed: (rule, wildcards) -> {jobid, threads, resources}."""
    jobs = {}
    for m in re.finditer(r"^ *(?:local)?(?:rule|checkpoint) (\w+):\n((?: +\w+: .*\n)+)", text, re.M):
        fields = dict(re.findall(r"^ +(\w+): (.*)$", m.group(2), re.M))
        res = dict(kv.split("=", 1) for kv in fields.get("resources", "").split(", ") if "=" in kv)
        jobs[m.group(1), fields.get("wildcards", "")] = {
            "jobid": fields.get("jobid"), "threads": int(fields.get("threads", 1)), "res": res}
    return jobs


def minutes(limit):
    days, _, hms = limit.rpartition("-")
    h, m, s = map(int, hms.split(":"))
    return int(days or 0) * 1440 + h * 60 + m + (s > 0)


def mem_mb(req):
    m = re.fullmatch(r"([\d.]+)([KMGT])n?", req)
    return round(float(m.group(1)) * {"K": 2**-10, "M": 1, "G": 2**10, "T": 2**20}[m.group(2)])


local = {}
for path in local_logs:
    local.update(jobs_of(open(path, encoding="utf-8").read()))
problems, rows, gpu_calls, own = [], [], [], set()
for path in slurm_logs:
    text = open(path, encoding="utf-8").read()
    run_ids, jobs = set(re.findall(r"SLURM run ID: (\S+)", text)), jobs_of(text)
    by_jobid = {j["jobid"]: (key, j) for key, j in jobs.items()}
    calls = {}  # a job's log directory or a group's id -> (sbatch options, its jobs)
    for call in re.findall(r"sbatch call: (.*)", text):
        options, members = call.split(" --wrap=")[0], re.findall(r"'(\w+):([^']*)'", call)
        group = re.search(r"--local-groupid '([^']+)'", call)
        calls[group.group(1) if group else re.search(r"--output (\S+)/%j", call).group(1)] = (
            options, [(rule, wc.replace(",", ", ")) for rule, wc in members])
    member_of = {}
    for jid, sid, logdir in re.findall(r"Job (\S+) has been submitted with SLURM jobid (\d+) "
                                       r"\(log: (\S+)/\d+\.log\)", text):
        row = sacct.get(sid)
        options, members = calls.get(jid) or calls[logdir]
        if jid.isdigit():
            members = [by_jobid[jid][0]]
        if row is None or row["name"] not in run_ids:
            problems.append(f"SLURM job {sid} ({members}) is not in sacct under the run's id")
            continue
        rows.append(row)
        label = f"SLURM job {sid} ({' '.join(' '.join(m).strip() for m in members)})"
        for m in members:
            member_of.setdefault(m, []).append(sid)
        if row["state"] != "COMPLETED":
            problems.append(f"{label}: {row['state']} (exit {row['exit']})")
        mj = [jobs[m] for m in members]
        want = {"cpus": max(j["threads"] for j in mj),  # a group: one chain of jobs
                "mem": max(int(j["res"]["mem_mb"]) for j in mj),
                "time": sum(int(j["res"]["runtime"]) for j in mj),
                "gpu": max(int(j["res"].get("gpu", 0)) for j in mj),
                "partition": mj[0]["res"]["slurm_partition"]}
        got = {"cpus": int(row["cpus"]), "mem": mem_mb(row["mem"]), "time": minutes(row["time"]),
               "gpu": int((re.search(r"gres/gpu=(\d+)", row["tres"]) or [0, 0])[1]),
               "partition": row["partition"]}
        problems += [f"{label}: {k} is {got[k]} in SLURM, {want[k]} in Snakemake"
                     for k in want if got[k] != want[k]]
        if got["gpu"]:
            gpu_calls.append(f"SLURM job {sid}: {re.sub(r' --comment .*? -A', ' ... -A', options)}")
        for m, j in zip(members, mj):  # a rule's own resources must survive the profile
            ref = local.get(m, {"res": {}})["res"]
            own.update(f"{m[0]}.{k}" for k in ("mem_mb", "runtime") if k in ref)
            problems += [f"{label}: {k}={j['res'][k]} under the profile, {ref[k]} from the rule"
                         for k in ("mem_mb", "runtime") if k in ref and ref[k] != j["res"][k]]
    problems += [f"{m} was submitted in SLURM jobs {', '.join(s)}" for m, s in member_of.items()
                 if len(s) > 1]
print(f"  {'job':>4} {'state':10} {'partition':9} {'cpus':>4} {'ReqMem':>7} {'Timelimit':>10}  "
      "ReqTRES | comment (rule_<name>[_wildcards_<values>])")
for r in rows:
    print(f"  {r['id']:>4} {r['state']:10} {r['partition']:9} {r['cpus']:>4} {r['mem']:>7} "
          f"{r['time']:>10}  {r['tres']} | {r['comment']}")
states = {state: sum(r["state"] == state for r in rows) for state in {r["state"] for r in rows}}
print(f"{len(rows)} SLURM jobs; states: {', '.join(f'{s} {n}' for s, n in sorted(states.items()))}")
print(f"requests checked (cpus = threads, memory = mem_mb, time limit = runtime, partition); "
      f"the rules' own values kept: {', '.join(sorted(own)) or 'none'}")
print(f"GPU: {len(gpu_calls)} job(s) asked for gres/gpu, the other {len(rows) - len(gpu_calls)} "
      "for none:", *gpu_calls, sep="\n  ")
if not gpu_calls:
    problems.append("no SLURM job requested a GPU")
for problem in problems:
    print(f"PROBLEM: {problem}")
sys.exit(1 if problems else 0)
EOF
}

compare_tables() {  # every table of the SLURM run equals the local run's
  local status=0
  "$PY" -m blendtalk.compare "$LOCAL_WF" "$SLURM_WF" >"$TMP/log/compare.txt" || status=$?
  grep -v "^same " "$TMP/log/compare.txt" | sed 's/^/  /'
  return "$status"
}

main() {
  local failed=()
  [ "$(id -u)" -eq 0 ] || die "run as root: the test cluster's daemons and apt-get need it"
  bash scripts/setup.sh
  install_packages
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/slurm-local.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  unset BLENDTALK_CACHE  # each workflow copy its own cache: both runs start from nothing
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
  write_config
  start_munge
  start_mariadb
  start_slurm
  LOCAL_WF=$TMP/wf/local
  SLURM_WF=$TMP/wf/slurm
  "$PY" -c 'import sys; from blendtalk.workdir import make_workdir
for path in sys.argv[1:]: make_workdir(path)' "$LOCAL_WF" "$SLURM_WF"
  local_run
  slurm_run
  gpu_run
  log "jobs (sacct):"
  check_jobs || failed+=("SLURM requests")
  log "tables (SLURM run against the local run):"
  compare_tables || failed+=("tables")
  ((${#failed[@]} == 0)) || die "${failed[*]} (see above)"
  log "PASSED in $((SECONDS / 60)) min $((SECONDS % 60)) s"
}

main "$@"
