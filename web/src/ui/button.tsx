import { Button as AriaButton, type ButtonProps } from 'react-aria-components';

const looks = {
  primary: 'bg-blue-700 text-white hover:bg-blue-800 pressed:bg-blue-900',
  secondary: 'bg-white text-slate-800 border border-slate-300 hover:bg-slate-50',
  danger: 'bg-red-700 text-white hover:bg-red-800',
  quiet: 'text-blue-800 underline-offset-2 hover:underline',
};

export function Button({ look = 'secondary', className, ...props }: ButtonProps & { look?: keyof typeof looks; className?: string }) {
  return (
    <AriaButton
      {...props}
      className={`inline-flex items-center gap-1 rounded px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-50 ${looks[look]} ${className ?? ''}`}
    />
  );
}
