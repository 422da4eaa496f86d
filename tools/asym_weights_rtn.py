"""Symmetric against asymmetric per-row 4-bit weights, rounded to nearest, on the real ViT-Ti / DeiT-Ti
weights in ../shared/data (docs/LOWBIT.md section 1.1). Weights only: activations stay float. Each row's
clipping factor (0.5 .. 1 of its max |w|, or of its [min, max]) is chosen by the row's squared weight
error. Prints top-1 on VAL1300 for each mode.

    python tools/asym_weights_rtn.py vit float,sym4,asym4
    python tools/asym_weights_rtn.py deit float,sym4,asym4

Needs torch, safetensors and pillow (the local wheel index has them). Its own resize (PIL bicubic of
the shorter side, centre crop) is close to, not the same as, vitq's preprocessing: compare its modes
with each other, not with vitq's numbers.
"""
import torch, numpy as np, sys, math, os
from PIL import Image
from safetensors.torch import load_file
torch.set_num_threads(2)
SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared')
name=sys.argv[1]; modes=sys.argv[2].split(','); N=int(sys.argv[3]) if len(sys.argv)>3 else 1300
if name=='vit':
    sd=load_file(SHARED + '/data/vit_tiny_patch16_224.augreg_in21k_ft_in1k/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors')
    mean=std=(0.5,0.5,0.5); crop=0.875
else:
    sd=load_file(SHARED + '/data/deit_tiny_patch16_224.pipevit_lnq8/deit_tiny_patch16_224.pipevit_lnq8.safetensors')
    mean=(0.485,0.456,0.406); std=(0.229,0.224,0.225); crop=0.9
root=SHARED + '/data/imagenet_val_1300_acuity/'
items=[l.strip().split(', ') for l in open(root+'dataset.txt')][:N]
def load(p):
    im=Image.open(root+p).convert('RGB'); w,h=im.size; sz=int(math.floor(224/crop)); 
    if w<h: nw,nh=sz,int(sz*h/w)
    else: nh,nw=sz,int(sz*w/h)
    im=im.resize((nw,nh),Image.BICUBIC); l=(nw-224)//2; t=(nh-224)//2; im=im.crop((l,t,l+224,t+224))
    a=(np.asarray(im,dtype=np.float32)/255-np.array(mean,dtype=np.float32))/np.array(std,dtype=np.float32)
    return torch.from_numpy(a.transpose(2,0,1).copy())
X=torch.stack([load(p) for p,_ in items]); Y=torch.tensor([int(y) for _,y in items])
def fwd(W,x):
    B=x.shape[0]
    t=torch.nn.functional.conv2d(x,W['patch_embed.proj.weight'],W['patch_embed.proj.bias'],stride=16).flatten(2).transpose(1,2)
    t=torch.cat([W['cls_token'].expand(B,-1,-1),t],1)+W['pos_embed']
    for i in range(12):
        p=f'blocks.{i}.'
        h=torch.nn.functional.layer_norm(t,(192,),W[p+'norm1.weight'],W[p+'norm1.bias'],1e-6)
        qkv=(h@W[p+'attn.qkv.weight'].T+W[p+'attn.qkv.bias']).reshape(B,-1,3,3,64).permute(2,0,3,1,4)
        q,k,v=qkv[0],qkv[1],qkv[2]
        a=((q@k.transpose(-2,-1))*0.125).softmax(-1)
        o=(a@v).transpose(1,2).reshape(B,-1,192)
        t=t+o@W[p+'attn.proj.weight'].T+W[p+'attn.proj.bias']
        h=torch.nn.functional.layer_norm(t,(192,),W[p+'norm2.weight'],W[p+'norm2.bias'],1e-6)
        h=torch.nn.functional.gelu(h@W[p+'mlp.fc1.weight'].T+W[p+'mlp.fc1.bias'])
        t=t+h@W[p+'mlp.fc2.weight'].T+W[p+'mlp.fc2.bias']
    t=torch.nn.functional.layer_norm(t,(192,),W['norm.weight'],W['norm.bias'],1e-6)
    return t[:,0]@W['head.weight'].T+W['head.bias']
def qsym(w,b):
    w2=w.reshape(w.shape[0],-1); m=w2.abs().amax(1,keepdim=True); best=None
    for a in np.linspace(0.5,1.0,51):
        s=m*a/(2**(b-1)-1); q=(w2/s).round().clamp(-2**(b-1),2**(b-1)-1)*s; e=((q-w2)**2).sum(1,keepdim=True)
        best=(e,q) if best is None else (torch.minimum(best[0],e), torch.where(e<best[0],q,best[1]))
    return best[1].reshape(w.shape)
def qasym(w,b):
    w2=w.reshape(w.shape[0],-1); lo=w2.amin(1,keepdim=True); hi=w2.amax(1,keepdim=True); best=None
    for a in np.linspace(0.5,1.0,51):
        l,h=lo*a,hi*a; s=(h-l)/(2**b-1); z=(-l/s).round()
        q=((w2/s).round()+z).clamp(0,2**b-1); q=(q-z)*s; e=((q-w2)**2).sum(1,keepdim=True)
        best=(e,q) if best is None else (torch.minimum(best[0],e), torch.where(e<best[0],q,best[1]))
    return best[1].reshape(w.shape)
for mode in modes:
    W=dict(sd)
    if mode!='float':
        kind,b=mode[:-1],int(mode[-1])
        err=0
        for k in sd:
            if k.endswith('.weight') and ('qkv' in k or 'proj' in k or 'fc' in k or k=='head.weight'):
                W[k]=(qsym if kind=='sym' else qasym)(sd[k],b); err+=((W[k]-sd[k])**2).sum().item()
        print(mode,'weight sq err',err)
    with torch.no_grad():
        c=0
        for i in range(0,len(X),100): c+=(fwd(W,X[i:i+100]).argmax(1)==Y[i:i+100]).sum().item()
    print(name,mode,100*c/len(X),flush=True)
