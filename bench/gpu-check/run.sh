#!/bin/sh
# Runs the GPU throughput check from this folder (built by bench/gpu-check/build.ts),
# offline: unpacks Node and dawn.node, uses the system's Vulkan loader or the bundled
# one, runs the MLP and CNN on WebGPU, then the same models in PyTorch on the GPU when
# python3 with torch is there. Args go to the benchmark: --steps N --batch B
# --allow-software-gpu --gpu <n>.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${GPU_CHECK_WORK:-$here/.unpacked}
mkdir -p "$work/node_modules/webgpu/dist/linux-x64"
[ -x "$work/node" ] || { xz -dc "$here/node.xz" > "$work/node.part" && chmod +x "$work/node.part" && mv "$work/node.part" "$work/node"; }
dawn="$work/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$dawn" ] || { xz -dc "$here/dawn.node.xz" > "$dawn.part" && mv "$dawn.part" "$dawn"; }
cp "$here/webgpu/index.js" "$here/webgpu/package.json" "$work/node_modules/webgpu/"

# The Vulkan loader: the system's, else (or with GPU_CHECK_BUNDLED_VULKAN=1) the bundled Debian packages, unpacked here.
if [ "${GPU_CHECK_BUNDLED_VULKAN:-0}" = 1 ] || ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  mkdir -p "$work/vulkan"
  for deb in "$here"/debs/*.deb; do
    if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$deb" "$work/vulkan"
    else (cd "$work/vulkan" && ar p "$deb" data.tar.xz | tar -xJ); fi
  done
  export LD_LIBRARY_PATH="$work/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# NVIDIA's driver without its Vulkan ICD file (common in containers): point the loader at it.
if [ -z "${VK_ICD_FILENAMES:-}" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  nv=$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0 / {print $NF; exit}')
  if [ -n "$nv" ]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\n' "$nv" > "$work/nvidia_icd.json"
    export VK_ICD_FILENAMES="$work/nvidia_icd.json"
  fi
fi

cd "$work"
cp "$here/bench.mjs" "$work/bench.mjs"
"$work/node" "$work/bench.mjs" "$@"

steps=50; batch=128
while [ $# -gt 0 ]; do
  case "$1" in --steps) steps=$2; shift ;; --batch) batch=$2; shift ;; esac
  shift
done
if command -v python3 >/dev/null && python3 -c 'import torch' 2>/dev/null; then
  device=$(python3 -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
  python3 "$here/torch_ref.py" --threads "$(nproc)" --batch "$batch" --steps "$steps" --device "$device"
else
  echo '{"torch":"not available (python3 with torch is needed for the PyTorch comparison)"}'
fi
