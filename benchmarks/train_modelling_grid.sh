#!/usr/bin/env bash
# The effect-modelling comparison of benchmarks/RESULTS.md: GRU-48, LSTM-48 and the TCN on SoX
# overdrive pairs in both directions (clean -> overdrive, overdrive -> clean) at 44.1 kHz, CAFx
# and the spectrogram transformer on tremolo and chorus pairs at 16 kHz, all on the built-in
# synthetic guitar with the effects at their default settings; every run gets the same
# wall-clock budget, then benchmarks/eval_modelling.py measures it on held-out clips.
#
#   bash benchmarks/train_modelling_grid.sh MINUTES OUTDIR [RUN ...]
#
# RUN names (default: all): gru_emulation gru_removal lstm_emulation lstm_removal
# tcn_emulation tcn_removal cafx_tremolo cafx_chorus transformer_tremolo transformer_chorus.
# Writes OUTDIR/RUN/ (the Lightning run) and OUTDIR/RUN.eval.txt (the held-out errors).
set -euo pipefail
minutes=${1:?MINUTES per run}
out=${2:?OUTDIR}
shift 2
runs=("$@")
if [ ${#runs[@]} -eq 0 ]; then
  runs=(gru_emulation gru_removal lstm_emulation lstm_removal tcn_emulation tcn_removal
        cafx_tremolo cafx_chorus transformer_tremolo transformer_chorus)
fi
spectral=(--model.init_args.model_args null --model.init_args.sample_rate 16000
          --data.init_args.sample_rate 16000 --data.init_args.segment_s 2.0
          --data.init_args.batch_size 8 --model.init_args.loss_terms '{"l1": 1.0, "mrstft": 0.1}')
for run in "${runs[@]}"; do
  effect=overdrive direction=emulation
  case $run in
    gru_*) args=() ;;
    lstm_*) args=(--model.init_args.model_args.cell lstm) ;;
    tcn_*) args=(--model.init_args.model tcn --model.init_args.model_args null) ;;
    cafx_*) args=(--model.init_args.model cafx "${spectral[@]}" --model.init_args.lr 0.001) ;;
    transformer_*) args=(--model.init_args.model transformer "${spectral[@]}"
                         --model.init_args.lr 0.0005) ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
  case $run in
    *_removal) direction=removal ;;
    *_tremolo) effect=tremolo ;;
    *_chorus) effect=chorus ;;
  esac
  if [ -e "$out/$run" ]; then echo "$out/$run exists; not overwriting it" >&2; exit 1; fi
  mkdir -p "$out/$run"
  echo "== $run: $effect, $direction, $minutes min"
  OMP_WAIT_POLICY=PASSIVE dasp-blind fit --config modelling/overdrive_gru "${args[@]}" \
    --data.init_args.effect "$effect" --data.init_args.direction "$direction" \
    --trainer.max_time "00:00:$(printf %02d "$minutes"):00" --trainer.default_root_dir "$out/$run" \
    --trainer.enable_progress_bar false > "$out/$run/log.txt" 2>&1
  checkpoint=$(ls -t "$out/$run"/lightning_logs/version_*/checkpoints/*.ckpt | head -1)
  python benchmarks/eval_modelling.py --checkpoint "$checkpoint" --effect "$effect" \
    --direction "$direction" --clips 8 --seconds 4 | tee "$out/$run.eval.txt"
done
