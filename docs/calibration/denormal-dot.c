// whisper_bench_ggml_mul_mat_str fills F32 matrices with the bytes i & 0x3F (floats near 1e-34 whose
// products underflow). This times one 4096-float dot product of that data, then of ordinary values,
// each with and without flush-to-zero / denormals-are-zero. Build and run:
//   gcc -O3 -march=native -o d docs/calibration/denormal-dot.c && ./d bench && ./d bench daz && ./d other && ./d other daz
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <xmmintrin.h>
#include <pmmintrin.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  enum{N=4096}; static float a[N],b[N]; uint8_t*pa=(uint8_t*)a,*pb=(uint8_t*)b;
  for(size_t i=0;i<sizeof a;i++){pa[i]=i&0x3F;pb[i]=i&0x3F;}
  if(argc>1&&!strcmp(argv[1],"other")) for(int i=0;i<N;i++){a[i]=(i%64)/64.f;b[i]=(i%64)/64.f;}
  if(argc>2) {_MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);_MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);}
  printf("a[1]=%g a[1]*b[1]=%g\n",a[1],a[1]*b[1]);
  volatile float sink=0; int reps=20000; double t0=now();
  for(int r=0;r<reps;r++){float s0=0,s1=0,s2=0,s3=0; for(int i=0;i<N;i+=4){s0+=a[i]*b[i];s1+=a[i+1]*b[i+1];s2+=a[i+2]*b[i+2];s3+=a[i+3]*b[i+3];} sink+=s0+s1+s2+s3; a[0]+=0;}
  double t=now()-t0; printf("%s%s: %.2f GFLOPS\n",argc>1?argv[1]:"bench",argc>2?" +FTZ/DAZ":"",2.0*N*reps/t*1e-9); return 0;}
