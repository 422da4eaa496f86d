# GPTQ's Hessian weighted by the output gradients, against plain GPTQ and rounding to nearest: a PyTorch
# prototype on the real ViT-Ti, weights only (4-bit per-row asymmetric, scales by weight MSE; activations
# float; every block Linear and the head; the patch embedding float). docs/LOWBIT.md 4.1 has the results.
#   python3 tools/experiments/gptq_weighting.py MODE:DAMP ...   (run from the repository, ../shared beside it)
# MODE: rtn; gptq (H = X^T X); wgptq (H = X^T diag(w) X, w_t = sum_j g_tj^2: a token weight shared by all rows);
# fgptq (each output row j its own H_j = X^T diag(g_j^2) X, slow: about 10 minutes); fgptq_nofc2 (fc2 rounded to
# nearest). g: the float model's output gradients of cross-entropy against its own top-1 on CALIB32. BITS=4 default.
# Needs torch, safetensors, PIL; timm is not imported.
import sys; sys.modules['torchvision']=None
import torch, numpy as np, os, time
import torch.nn.functional as Fn
from PIL import Image
from safetensors.torch import load_file
torch.manual_seed(0)
WP='../shared/data/vit_tiny_patch16_224.augreg_in21k_ft_in1k/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors'
sd={k:v.float() for k,v in load_file(WP).items()}
heads=3; D=192
LIN=[f'blocks.{i}.{n}' for i in range(12) for n in ('attn.qkv','attn.proj','mlp.fc1','mlp.fc2')]+['head']
def forward(x, W, rec=None):
    def lin(name, h):
        o=Fn.linear(h, W[name], sd[name+'.bias'])
        if rec is not None:
            rec[name]=(h.detach(), o); o.retain_grad()
        return o
    x=Fn.conv2d(x,sd['patch_embed.proj.weight'],sd['patch_embed.proj.bias'],stride=16).flatten(2).transpose(1,2)
    x=torch.cat([sd['cls_token'].expand(x.shape[0],-1,-1),x],1)+sd['pos_embed']
    for i in range(12):
        p=f'blocks.{i}.'
        h=Fn.layer_norm(x,(D,),sd[p+'norm1.weight'],sd[p+'norm1.bias'],1e-6)
        qkv=lin(p+'attn.qkv',h).reshape(x.shape[0],x.shape[1],3,heads,D//heads).permute(2,0,3,1,4)
        a=(qkv[0]@qkv[1].transpose(-1,-2))*(D//heads)**-0.5
        o=(a.softmax(-1)@qkv[2]).transpose(1,2).reshape(x.shape)
        x=x+lin(p+'attn.proj',o)
        h=Fn.layer_norm(x,(D,),sd[p+'norm2.weight'],sd[p+'norm2.bias'],1e-6)
        x=x+lin(p+'mlp.fc2',Fn.gelu(lin(p+'mlp.fc1',h)))
    x=Fn.layer_norm(x,(D,),sd['norm.weight'],sd['norm.bias'],1e-6)
    return lin('head',x[:,0])
def load(path):
    im = Image.open(path).convert('RGB'); w,h = im.size; s = 248/min(w,h)
    im = im.resize((248, round(h*s)) if w<=h else (round(w*s), 248), Image.BICUBIC)
    w,h = im.size; l=(w-224)//2; t=(h-224)//2; im = im.crop((l,t,l+224,t+224))
    x = torch.from_numpy(np.asarray(im).copy()).float().permute(2,0,1)/255
    return (x-0.5)/0.5
def lst(f):
    base=os.path.dirname(f); r=[]
    for line in open(f):
        line=line.strip()
        if not line or line.startswith('#'): continue
        p,l = (line.split(',') if ',' in line else line.split('\t'))
        r.append((os.path.join(base,p.strip()), int(l)))
    return r
cache=os.environ.get('CACHE','/tmp/gptq_weighting_images.pt')
if os.path.exists(cache): IM=torch.load(cache)
else:
    IM={}
    for key,f in [('calib','demo/calib/calib32.txt'),('val','../shared/data/imagenet_val_1300_acuity/dataset.txt'),('calibB','docs/calib/calib32B.txt'),('calibC','docs/calib/calib32C.txt')]:
        items=lst(f); IM[key]=(torch.stack([load(p) for p,_ in items]), torch.tensor([l for _,l in items]))
    torch.save(IM, cache)
W0={n:sd[n+'.weight'] for n in LIN}
def top1(W, key='val'):
    x,y=IM[key]; c=0
    with torch.no_grad():
        for i in range(0,len(x),100): c+=(forward(x[i:i+100],W).argmax(-1)==y[i:i+100]).sum().item()
    return 100*c/len(x)
print('float', top1(W0), flush=True)
def record(key):
    x,_=IM[key]; rec={}
    W={n:w.clone().requires_grad_() for n,w in W0.items()}
    out=forward(x,W,rec)
    Fn.cross_entropy(out, out.argmax(-1).detach(), reduction='sum').backward()
    R={}
    for n,(h,o) in rec.items():
        R[n]=(h.reshape(-1,h.shape[-1]).double(), o.grad.reshape(-1,o.shape[-1]).double())
    return R
BITS=int(os.environ.get('BITS','4'))
def scales(w):
    # per-row asymmetric, grid over shrink of [min,max] minimizing weight MSE
    qmax=2**BITS-1; best=None
    lo0=w.min(1,keepdim=True).values.clamp(max=0); hi0=w.max(1,keepdim=True).values.clamp(min=0)
    for a in torch.linspace(0.5,1.0,26):
        lo=lo0*a; hi=hi0*a; s=((hi-lo)/qmax).clamp(min=1e-12); z=torch.round(-lo/s)
        q=(torch.clamp(torch.round(w/s)+z,0,qmax)-z)*s; e=((q-w)**2).sum(1,keepdim=True)
        if best is None: best=(e,s,z)
        else:
            m=e<best[0]; best=(torch.where(m,e,best[0]),torch.where(m,s,best[1]),torch.where(m,z,best[2]))
    return best[1],best[2]
def quant(w,s,z):
    qmax=2**BITS-1
    return (torch.clamp(torch.round(w/s)+z,0,qmax)-z)*s
def gptq_rows(w,s,z,Hs,damp):
    # w [r,n], Hs [r,n,n] or [n,n]; returns rounded
    w=w.double().clone(); s=s.double(); z=z.double()
    if Hs.dim()==2: Hs=Hs.unsqueeze(0)
    Hs=Hs.clone(); n=w.shape[1]
    dead=torch.diagonal(Hs,dim1=1,dim2=2)==0
    idx=torch.arange(n)
    Hs[:,idx,idx]+= damp*torch.diagonal(Hs,dim1=1,dim2=2).mean(1,keepdim=True) + dead.double()
    L=torch.linalg.cholesky(Hs); Hinv=torch.cholesky_inverse(L); U=torch.linalg.cholesky(Hinv,upper=True)
    if U.shape[0]==1: U=U.expand(w.shape[0],n,n)
    q=torch.zeros_like(w)
    for c in range(n):
        qc=quant(w[:,c:c+1],s,z)[:,0]; q[:,c]=qc
        err=(w[:,c]-qc)/U[:,c,c]
        w[:,c+1:]-=err[:,None]*U[:,c,c+1:]
    return q.float()
def run(key, mode, damp, R):
    W={}; t=time.time()
    for n in LIN:
        w=W0[n]; s,z=scales(w)
        if mode=='rtn': W[n]=quant(w,s,z); continue
        X,G=R[n]
        if mode=='gptq': H=X.T@X
        elif mode=='wgptq': H=(X*(G**2).sum(1,keepdim=True)).T@X
        elif mode=='fgptq_nofc2' and 'fc2' in n: W[n]=quant(w,s,z); continue
        elif n in HC: H=HC[n].double()
        else:
            H=torch.empty(w.shape[0],X.shape[1],X.shape[1],dtype=torch.float64)
            Xf=X.float(); Gf=G.float()
            for j0 in range(0,w.shape[0],32):
                g=(Gf[:,j0:j0+32]**2).T  # r x t
                H[j0:j0+32]=torch.matmul((Xf.unsqueeze(0)*g.unsqueeze(2)).transpose(1,2), Xf).double()
            HC[n]=H.float()
        W[n]=gptq_rows(w,s,z,H,damp)
    return W, time.time()-t
R=record('calib'); HC={}
print('recorded', flush=True)
for mode,damp in [(m,float(d)) for m,d in (a.split(':') for a in sys.argv[1:])]:
    W,sec=run('calib',mode,damp,R)
    print(f'W{BITS} {mode} damp {damp}: val {top1(W):.2f}  calibB {top1(W,"calibB"):.2f} ({sec:.0f}s)', flush=True)
