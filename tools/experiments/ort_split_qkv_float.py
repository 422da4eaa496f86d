# The same as ort_split_qkv.py for a float export (MatMul + Add qkv). python3 tools/experiments/ort_split_qkv_float.py IN.onnx OUT.onnx
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
    rs=prod[tr.input[0]]; add=prod[rs.input[0]]; mm=prod[add.input[0]]
    shp=nh.to_array(inits[rs.input[1]]); T,_,H,d=shp[1:]
    W=nh.to_array(inits[mm.input[1]]); b=nh.to_array(inits[add.input[1]])
    HD=H*d; sc=tr.name[:-4]; nodes=[]
    for gn in cons[tr.output[0]]:
        j=int(nh.to_array(inits[gn.input[1]]).ravel()[0]); p=f'{sc}/part{j}'
        for nm,arr in [(p+'/w',W[:,j*HD:(j+1)*HD]),(p+'/b',b[j*HD:(j+1)*HD]),(p+'/shape',np.array([-1,T,H,d],np.int64))]:
            g.initializer.append(nh.from_array(np.ascontiguousarray(arr),nm))
        nodes+= [oh.make_node('MatMul',[mm.input[0],p+'/w'],[p+'/m'],name=p+'/mm'),
               oh.make_node('Add',[p+'/m',p+'/b'],[p+'/a'],name=p+'/add'),
               oh.make_node('Reshape',[p+'/a',p+'/shape'],[p+'/r'],name=p+'/reshape'),
               oh.make_node('Transpose',[p+'/r'],[gn.output[0]],perm=[0,2,1,3],name=p+'/heads')]
        drop.add(gn.name)
    drop|={tr.name,rs.name,add.name,mm.name}
    repl[tr.name]=nodes
for n in g.node:
    if n.name in repl: out+=repl[n.name]
    elif n.name not in drop: out.append(n)
del g.node[:]; g.node.extend(out)
onnx.checker.check_model(m)
onnx.save(m,sys.argv[2])
