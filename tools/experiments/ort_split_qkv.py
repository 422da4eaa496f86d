# Prototype (docs/BENCHMARKS.md, "2026-12-06"): each ViT qkv Linear of a float export or of an
# `export --integer-linears` file as three products (q, k, v), each reshaped and transposed to
# [N, H, T, d], instead of one product, a Reshape, a 5-D Transpose and the Split ONNX Runtime makes
# of the Gathers. python3 tools/experiments/ort_split_qkv.py IN.onnx OUT.onnx   (onnx, numpy)
# Reads the exports of before 2026-12-07 (e4a3172), whose heads came from that 5-D Transpose.
import onnx, numpy as np, sys
from onnx import numpy_helper as nh, helper as oh
m=onnx.load(sys.argv[1]); g=m.graph
inits={i.name:i for i in g.initializer}
prod={o:n for n in g.node for o in n.output}
cons={}
for n in g.node:
    for i in n.input: cons.setdefault(i,[]).append(n)
out=[]; drop=set(); repl={}
for tr in g.node:
    if not (tr.op_type=='Transpose' and tr.name.endswith('attn/qkv')): continue
    rs=prod[tr.input[0]]; add=prod[rs.input[0]]; top=prod[add.input[0]]
    integer = top.op_type=='Mul'   # MatMulInteger -> Cast -> Mul(scales) -> Add, else MatMul -> Add
    if integer:
        cast=prod[top.input[0]]; mm=prod[cast.input[0]]; scales=prod[top.input[1]]
        ws=nh.to_array(inits[scales.input[1]]).reshape(-1)
        drop|={cast.name}
    else:
        mm=top
    shp=nh.to_array(inits[rs.input[1]]); T,_,H,d=shp[1:]
    W=nh.to_array(inits[mm.input[1]]); b=nh.to_array(inits[add.input[1]])
    HD=H*d; sc=tr.name[:-4]; nodes=[]
    for gn in cons[tr.output[0]]:
        j=int(nh.to_array(inits[gn.input[1]]).ravel()[0]); p=f'{sc}/part{j}'
        parts=[(p+'/w',W[:,j*HD:(j+1)*HD]),(p+'/b',b[j*HD:(j+1)*HD]),(p+'/shape',np.array([-1,T,H,d],np.int64))]
        if integer: parts.append((p+'/ws',ws[j*HD:(j+1)*HD] if ws.size>1 else ws))
        for nm,arr in parts: g.initializer.append(nh.from_array(np.ascontiguousarray(arr),nm))
        if integer:
            nodes+=[oh.make_node('MatMulInteger',[mm.input[0],p+'/w']+list(mm.input[2:]),[p+'/i32'],name=p+'/mi'),
                    oh.make_node('Cast',[p+'/i32'],[p+'/f'],to=1,name=p+'/cast'),
                    oh.make_node('Mul',[scales.input[0],p+'/ws'],[p+'/s'],name=p+'/scales'),
                    oh.make_node('Mul',[p+'/f',p+'/s'],[p+'/m'],name=p+'/mul')]
        else:
            nodes+=[oh.make_node('MatMul',[mm.input[0],p+'/w'],[p+'/m'],name=p+'/mm')]
        nodes+=[oh.make_node('Add',[p+'/m',p+'/b'],[p+'/a'],name=p+'/add'),
                oh.make_node('Reshape',[p+'/a',p+'/shape'],[p+'/r'],name=p+'/reshape'),
                oh.make_node('Transpose',[p+'/r'],[gn.output[0]],perm=[0,2,1,3],name=p+'/heads')]
        drop.add(gn.name)
    drop|={tr.name,rs.name,add.name,top.name,mm.name}
    repl[tr.name]=nodes   # at the transpose's place: every input of the new nodes is made by then
for n in g.node:
    if n.name in repl: out+=repl[n.name]
    elif n.name not in drop: out.append(n)
del g.node[:]; g.node.extend(out)
onnx.checker.check_model(m)
onnx.save(m,sys.argv[2])
