"""Every Linear weight rounded to nearest on a rotated basis (block Hadamard with random signs, as vitq's W4A8
rotation), written back un-rotated as a float checkpoint for `./vitq eval --checkpoint`: the same function as
the rotated model with the rounded weights, activations float (docs/LOWBIT.md 5, "Pairs of weights").
MODE levels: 16 levels per Linear and a step per row (WeightLevelFit's fit); vq2: 256 centroids of
neighbouring weight pairs per Linear (k-means, 25 rounds), the same row steps: 4 bits per weight either way.
usage: python3 tools/experiments/weight_pairs.py IN.safetensors OUT.safetensors levels|vq2 (numpy, safetensors)"""
import numpy as np, sys
from safetensors.numpy import load_file, save_file
def hadamard(n):
    H=np.array([[1.]])
    while H.shape[0]<n: H=np.block([[H,H],[H,-H]])
    return H/np.sqrt(n)
def rot_mat(i,rng):
    b=256 if i%256==0 else 64
    H=hadamard(b); D=rng.choice([-1.,1.],size=i)
    R=np.zeros((i,i))
    for k in range(0,i,b): R[k:k+b,k:k+b]=H
    return D[:,None]*R     # x -> x @ (D R): columns rotated
def scalar_fit(W,k=16,it=20):
    step=np.abs(W).max(1)
    u=W/step[:,None]; lv=np.quantile(u.ravel(),(np.arange(k)+.5)/k)
    for _ in range(it):
        u=W/step[:,None]
        idx=np.abs(u.ravel()[:,None]-lv[None]).argmin(1)
        for j in range(k):
            m=idx==j
            if m.any(): lv[j]=u.ravel()[m].mean()
        lv.sort()
        q=lv[np.abs(u[...,None]-lv).argmin(-1)]
        step=(W*q).sum(1)/(q*q).sum(1)
    u=W/step[:,None]; q=lv[np.abs(u[...,None]-lv).argmin(-1)]
    return q*step[:,None], step
def vq2(W,step,k=256,it=25,rng=None):
    u=(W/step[:,None]).astype(np.float32); P=u.reshape(-1,2)
    C=P[rng.choice(len(P),k,replace=False)].copy()
    for _ in range(it):
        d=(P*P).sum(1)[:,None]-2*P@C.T+(C*C).sum(1)[None]; idx=d.argmin(1)
        cnt=np.bincount(idx,minlength=k)
        for a in range(2):
            s=np.bincount(idx,weights=P[:,a],minlength=k)
            C[:,a]=np.where(cnt>0,s/np.maximum(cnt,1),C[:,a])
    d=(P*P).sum(1)[:,None]-2*P@C.T+(C*C).sum(1)[None]; idx=d.argmin(1)
    return C[idx].reshape(u.shape).astype(np.float64)*step[:,None]
inp,out,mode=sys.argv[1:4]; sd=load_file(inp); rng=np.random.default_rng(0); res={}
for name,T in sd.items():
    lin=name.endswith('.weight') and (('blocks.' in name and ('attn.' in name or 'mlp.' in name)) or name in('head.weight','patch_embed.proj.weight'))
    if not lin: res[name]=T; continue
    W=T.reshape(T.shape[0],-1).astype(np.float64)
    R=rot_mat(W.shape[1],rng); Wr=W@R
    Q,step=scalar_fit(Wr)
    if mode=='vq2': Q=vq2(Wr,step,rng=rng)
    e=((Wr-Q)**2).sum()/(Wr**2).sum()
    print(name,W.shape,'rel err %.5f'%e,flush=True)
    res[name]=(Q@R.T).reshape(T.shape).astype(np.float32)
save_file(res,out)
