# Kernel time per operator of an ONNX Runtime profile JSON (OrtProfile's), per run, the first two runs (warm-up) left out.
# python3 tools/experiments/ort_profile_steady.py PROFILE.json
import json,sys,collections
# steady-state per-run kernel time by op: drop the first two runs
d=json.load(open(sys.argv[1]))
ev=[e for e in d if e.get('cat')=='Node' and e['name'].endswith('_kernel_time')]
per=collections.defaultdict(list)
for e in ev: per[e['name']].append(e)
agg=collections.Counter(); nruns=None
for n,v in per.items():
    v=sorted(v,key=lambda e:e['ts']); nruns=len(v)
    for e in v[2:]: agg[e['args']['op_name']]+=e['dur']/1000/(len(v)-2)
tot=sum(agg.values()); print('per run %.1f ms'%tot)
for op,t in agg.most_common(): print('  %-22s %7.1f'%(op,t))
