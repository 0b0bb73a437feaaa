#!/usr/bin/env bash
# Build @tensorflow/tfjs-node's native addon from source against the
# libtensorflow inside the tensorflow-cpu Python wheel (its install script
# downloads libtensorflow from outside, which these machines cannot reach).
# Optional: without the addon, @shears/finetune runs on the wasm backend.
#
#   bash packages/finetune/scripts/build-tfjs-node.sh [workdir]      (in a Shears checkout)
#   bash node_modules/@shears/finetune/scripts/build-tfjs-node.sh    (in a project; `shears doctor` prints the path)
#
# Needs pip (to fetch the wheel), unzip, g++ and Node's headers (/usr/include/node).
set -euo pipefail
work=${1:-/tmp/shears-tfjs-node}
# The @tensorflow/tfjs-node that @shears/finetune (this script's package) loads.
pkg=$(cd "$(dirname "$0")/.." && node -p "require('path').dirname(require.resolve('@tensorflow/tfjs-node/package.json'))")
mkdir -p "$work"
whl=$(ls "$work"/tensorflow_cpu-*.whl 2>/dev/null | head -1 || true)
if [ -z "$whl" ]; then
  pip download tensorflow-cpu --no-deps -d "$work" >/dev/null
  whl=$(ls "$work"/tensorflow_cpu-*.whl | head -1)
fi
if [ ! -f "$work/x/tensorflow/libtensorflow_cc.so.2" ]; then
  unzip -q -o "$whl" 'tensorflow/libtensorflow_framework.so.2' 'tensorflow/libtensorflow_cc.so.2' 'tensorflow/include/*' -d "$work/x"
fi
tf="$work/x/tensorflow"
# binding.gyp links -ltensorflow -ltensorflow_framework from deps/lib and
# finds the C API headers in deps/include; the wheel's libtensorflow_cc
# exports the C and eager C APIs.
mkdir -p "$pkg/deps/lib"
ln -sfn "$tf/include" "$pkg/deps/include"
ln -sf "$tf/libtensorflow_cc.so.2" "$pkg/deps/lib/libtensorflow_cc.so.2"
ln -sf "$tf/libtensorflow_cc.so.2" "$pkg/deps/lib/libtensorflow.so"
ln -sf "$tf/libtensorflow_framework.so.2" "$pkg/deps/lib/libtensorflow_framework.so.2"
ln -sf "$tf/libtensorflow_framework.so.2" "$pkg/deps/lib/libtensorflow_framework.so"
cd "$pkg"
npm_config_nodedir=${npm_config_nodedir:-/usr} node "$(node -p "require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', {paths: ['$pkg']})")" install --build-from-source
node -e "require('@tensorflow/tfjs-node'); console.log('tfjs-node: native TensorFlow backend loads')"
